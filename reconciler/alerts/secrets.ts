// Reads the alert secrets file given to `berth serve --alert-secrets-file`: a YAML (or JSON) map of
// entry names to values — chat incoming-webhook URLs and HMAC signing keys that berth.yaml names
// by entry (urlSecret, signingSecret) so that none sits in the repo. Errors name the file and the
// entry, never a value. I/O (one file read).
import { readFile } from "node:fs/promises";
import { parse } from "yaml";

export class SecretsFileError extends Error {
  override name = "SecretsFileError";
}

export async function readAlertSecrets(file: string): Promise<Map<string, string>> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new SecretsFileError(
      `cannot read --alert-secrets-file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    // The parser's message quotes no more than a position; the file's text is not repeated.
    const pos = (err as { linePos?: { line: number; col: number }[] }).linePos?.[0];
    throw new SecretsFileError(
      `${file}${pos ? `:${pos.line}:${pos.col}` : ""}: not valid YAML: write one "name: value" per line`,
    );
  }
  if (doc === null || doc === undefined) return new Map();
  if (typeof doc !== "object" || Array.isArray(doc)) {
    throw new SecretsFileError(
      `${file}: expected a map of entry names to values, e.g. "ops-slack: https://hooks.slack.com/services/..."`,
    );
  }
  const out = new Map<string, string>();
  for (const [name, value] of Object.entries(doc as Record<string, unknown>)) {
    if (typeof value !== "string" || value.trim() === "") {
      throw new SecretsFileError(`${file}: entry "${name}" must be a non-empty string`);
    }
    out.set(name, value.trim());
  }
  return out;
}
