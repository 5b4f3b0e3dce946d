// The text of secrets/<app>.yaml, which berth writes whole (berth secret set / rm / rekey): one
// Secrets document, secrets in name order, each with when its value was set, the recipients its
// ciphertext was encrypted to (with who they are, as comments) and the armored ciphertext as a
// literal block, so the file reviews well in a pull request and the block can be handed to the
// `age` CLI as it is. Pure.
import type { SecretsSpec } from "../config/model.js";

/** secrets/<app>.yaml: where berth secret keeps an app's secrets. */
export const secretsPath = (app: string): string => `secrets/${app}.yaml`;

/**
 * The file for `spec`. `who` names a recipient for the comment beside it (`operator alice`,
 * `node web-1`); unknown recipients get none.
 */
export function renderSecretsFile(spec: SecretsSpec, who: (recipient: string) => string | undefined): string {
  const out = [
    `# Encrypted secrets of app ${spec.app}, written by \`berth secret\` (docs/secrets.md).`,
    "# Values are age ciphertext: only the recipients below can decrypt them.",
    "# yaml-language-server: $schema=../.berth/schema/secrets.schema.json",
    "kind: Secrets",
    `app: ${spec.app}`,
  ];
  const names = Object.keys(spec.secrets).sort();
  if (names.length === 0) {
    out.push("secrets: {}");
    return `${out.join("\n")}\n`;
  }
  out.push("secrets:");
  for (const name of names) {
    const v = spec.secrets[name] as SecretsSpec["secrets"][string];
    out.push(`  ${name}:`);
    if (v.updated !== undefined) out.push(`    updated: "${v.updated}"`);
    out.push("    recipients:");
    for (const r of v.recipients) {
      const label = who(r);
      out.push(`      - ${r}${label ? `  # ${label.replace(/[\r\n]/g, " ")}` : ""}`);
    }
    out.push("    ciphertext: |");
    for (const line of v.ciphertext.trim().split("\n")) out.push(`      ${line.trimEnd()}`);
  }
  return `${out.join("\n")}\n`;
}
