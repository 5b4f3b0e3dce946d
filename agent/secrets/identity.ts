// The node's age identity file, as `age-keygen` and `berth node add` write it: comment lines
// (`# created: …`, `# public key: age1…`) and one `AGE-SECRET-KEY-1…` line. Read when a workload
// needs a secret, never logged; its text stays in this module's callers only as long as a
// decryption takes. Pure parsing plus one file read.
import { readFile, stat } from "node:fs/promises";

export class IdentityError extends Error {
  override name = "IdentityError";
}

/** The AGE-SECRET-KEY-1… line of an identity file's text; throws an IdentityError saying what is wrong. */
export function parseIdentity(text: string, file: string): string {
  const keys = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  if (keys.length === 0) throw new IdentityError(`the age identity file ${file} holds no key`);
  const key = keys[0] as string;
  if (keys.length > 1 || !/^AGE-SECRET-KEY-1[02-9ACDEFGHJKLMNPQRSTUVWXYZ]{58}$/.test(key)) {
    // Never quote the line: it may be (part of) a private key.
    throw new IdentityError(
      `the age identity file ${file} is not one X25519 identity (one AGE-SECRET-KEY-1… line, as berth node identity or age-keygen write)`,
    );
  }
  return key;
}

export interface IdentityFile {
  key: string;
  /** Modification time, to notice a rotated identity without restarting the agent. */
  mtimeMs: number;
  /** Set when group or others may read the file. */
  looseMode?: number;
}

export async function readIdentityFile(file: string): Promise<IdentityFile> {
  let text: string;
  let mtimeMs: number;
  let mode: number;
  try {
    const st = await stat(file);
    mtimeMs = st.mtimeMs;
    mode = st.mode & 0o777;
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new IdentityError(
      `cannot read the age identity file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  const key = parseIdentity(text, file);
  return { key, mtimeMs, ...((mode & 0o077) !== 0 ? { looseMode: mode } : {}) };
}
