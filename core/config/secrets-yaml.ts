// A reader for secrets/<app>.yaml exactly as `berth secret` writes it (core/secrets/file.ts): a
// few comment lines, kind, app, then per secret `updated`, `recipients` (one per line, with an
// optional comment) and the ciphertext as a literal block. It gives the value js-yaml gives, for a
// fraction of the work, and gives up (undefined) at the first line that is not in that layout, so
// any other file, a hand-edited one included, is read by the YAML parsers as before.
//
// Why hand-written: every app with a secret adds such a file, mostly base64 lines that js-yaml
// reads character by character. Measured on the 10,000-app bench repo with a secret on every app
// (10,000 Secrets files, 12.9 MB; in process, min of 15 runs, 2026-12-03, load average ~20 on 2
// cores): js-yaml 203 ms, this reader 40 ms (medians 299 / 151 ms). `berth validate` of that repo:
// 10.93 → 9.24 billion instructions (callgrind, with the armor and ajv changes of the same commit;
// docs/secrets.md, "Limits and figures").
//
// Exactness: only plain scalars that the YAML 1.2 core schema reads as strings are accepted (a
// name starting with a letter that is not null/true/false; secret names may start with "_"),
// duplicate keys and "__proto__" give up, the literal block is clipped (one final line break),
// and test/config/secrets-yaml.test.ts compares the result with js-yaml's over generated files
// and mutations of them. Pure.

// What js-yaml accepts as printable, narrowed (C0/C1 controls, surrogates — so astral characters
// too — and U+FFFE/U+FFFF give up; js-yaml rejects most of them).
const PRINTABLE = "[^\\x00-\\x1F\\x7F-\\x9F\\uD800-\\uDFFF\\uFFFE\\uFFFF]";
const TOP_COMMENT = new RegExp(`^#${PRINTABLE}*$`);
const KIND = "kind: Secrets";
const KIND_LINE = `${KIND}\n`;
const APP = /^app: ([a-z][-a-z0-9]*)$/;
const SECRET = /^ {2}([A-Za-z_][A-Za-z0-9_]*):$/;
const UPDATED = /^ {4}updated: "([0-9TZ:.-]*)"$/;
const RECIPIENT = new RegExp(`^ {6}- ([a-z][a-z0-9]*)(?: +#${PRINTABLE}*)?$`);
// A line of the literal block: its indentation, then a visible ASCII character, then anything printable.
const BLOCK_LINE = new RegExp(`^ {6}[\\x21-\\x7E]${PRINTABLE}*$`);

/** Words the core schema reads as null or booleans (any case: giving up costs only speed). */
const RESERVED = new Set(["null", "true", "false"]);

/** The Secrets document of `text` when it is laid out as berth writes it, else undefined. */
export function readSecretsYaml(text: string): Record<string, unknown> | undefined {
  // Cheap refusals first: most files are not Secrets files.
  const kind = text.indexOf(KIND_LINE);
  if (kind < 0 || (kind > 0 && text.charCodeAt(kind - 1) !== 10)) return undefined;
  if (!text.endsWith("\n") || text.includes("\r") || text.includes("\t")) return undefined;
  const lines = text.split("\n");
  lines.pop(); // the empty string after the final line break
  let i = 0;
  while (i < lines.length && TOP_COMMENT.test(lines[i] as string)) i++;
  if (lines[i++] !== KIND) return undefined;
  const app = APP.exec(lines[i++] ?? "")?.[1];
  if (app === undefined || RESERVED.has(app)) return undefined;
  const secrets: Record<string, unknown> = {};
  const doc = { kind: "Secrets", app, secrets };
  const header = lines[i++];
  if (header === "secrets: {}") return i === lines.length ? doc : undefined;
  if (header !== "secrets:") return undefined;
  if (i === lines.length) return undefined; // `secrets:` alone is null
  while (i < lines.length) {
    const name = SECRET.exec(lines[i++] as string)?.[1];
    if (name === undefined || name === "__proto__" || Object.hasOwn(secrets, name)) return undefined;
    if (RESERVED.has(name.toLowerCase())) return undefined;
    const value: Record<string, unknown> = {};
    const updated = UPDATED.exec(lines[i] ?? "")?.[1];
    if (updated !== undefined) {
      value.updated = updated;
      i++;
    }
    if (lines[i++] !== "    recipients:") return undefined;
    const recipients: string[] = [];
    for (;;) {
      const r = RECIPIENT.exec(lines[i] ?? "")?.[1];
      if (r === undefined) break;
      if (RESERVED.has(r)) return undefined;
      recipients.push(r);
      i++;
    }
    if (recipients.length === 0) return undefined;
    value.recipients = recipients;
    if (lines[i++] !== "    ciphertext: |") return undefined;
    const start = i;
    while (i < lines.length && BLOCK_LINE.test(lines[i] as string)) i++;
    if (i === start) return undefined;
    // Clip chomping: the lines without their indentation, one line break after the last.
    const block: string[] = [];
    for (let k = start; k < i; k++) block.push((lines[k] as string).slice(6));
    block.push("");
    value.ciphertext = block.join("\n");
    secrets[name] = value;
  }
  return doc;
}
