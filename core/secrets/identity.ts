// The text of an age identity file, as `age-keygen`, `berth node identity` and `berth secret
// keygen` write it: comment lines (`# created: …`, `# public key: age1…`) and AGE-SECRET-KEY-1…
// lines, one key each. A file may hold several keys (while a node's identity is rotated, the old
// and the new one). Pure.

export class IdentityError extends Error {
  override name = "IdentityError";
}

const KEY = /^AGE-SECRET-KEY-1[02-9ACDEFGHJKLMNPQRSTUVWXYZ]{58}$/;

/** The AGE-SECRET-KEY-1… lines of an identity file's text; throws an IdentityError saying what is wrong. */
export function parseIdentities(text: string, file: string): string[] {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  if (lines.length === 0) throw new IdentityError(`the age identity file ${file} holds no key`);
  for (const [i, l] of lines.entries()) {
    // Never quote the line: it may be (part of) a private key.
    if (!KEY.test(l))
      throw new IdentityError(
        `the age identity file ${file} has a line that is not an X25519 identity (key ${i + 1}; expected AGE-SECRET-KEY-1… as age-keygen writes)`,
      );
  }
  return lines;
}

/** An identity file's text for `identity`, with its public key as a comment, as age-keygen writes it. */
export function identityFileText(identity: string, recipient: string, created: Date): string {
  return `# created: ${created.toISOString().replace(/\.\d+Z$/, "Z")}\n# public key: ${recipient}\n${identity}\n`;
}
