// Reads the node's age identity file (core/secrets/identity.ts parses it). Read when a workload
// needs a secret, never logged; the keys stay with the resolver, which imports them once.
import { readFile, stat } from "node:fs/promises";
import { IdentityError, parseIdentities } from "../../core/secrets/identity.js";

export { IdentityError } from "../../core/secrets/identity.js";

export interface IdentityFile {
  keys: string[];
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
  const keys = parseIdentities(text, file);
  return { keys, mtimeMs, ...((mode & 0o077) !== 0 ? { looseMode: mode } : {}) };
}
