// The short-lived env files containers start with (podman/docker `--env-file`): written mode 0600
// in a 0700 directory of this agent's just before `run`, removed as soon as `run` returned, and
// swept when the driver starts (a file left by an agent killed mid-start). The directory should
// be on tmpfs (the agent picks $XDG_RUNTIME_DIR, /run or /dev/shm), so values never reach a disk.
import { randomBytes } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Creates `dir` (0700); refuses a directory that is a link, belongs to another user or is open to others. */
export function ensureEnvDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  const uid = process.getuid?.();
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o077) !== 0) {
    throw new Error(
      `the env file directory ${dir} must be a directory of this user with mode 0700 (it holds env values for a moment): remove it or pick another`,
    );
  }
}

/** Removes env files left in `dir` by an agent killed in the middle of a start. */
export function sweepEnvDir(dir: string): void {
  if (!existsSync(dir)) return;
  ensureEnvDir(dir);
  for (const f of readdirSync(dir)) if (f.endsWith(".env")) rmSync(join(dir, f), { force: true });
}

/** Writes `text` to a new 0600 file in `dir` (never an existing one) and returns its path. */
export function writeEnvFile(dir: string, name: string, text: string): string {
  const path = join(dir, `${name}.${randomBytes(6).toString("hex")}.env`);
  writeFileSync(path, text, { mode: 0o600, flag: "wx" });
  return path;
}

export const removeEnvFile = (path: string): void => rmSync(path, { force: true });

/**
 * Where a node's env files go: a tmpfs directory when one is usable ($XDG_RUNTIME_DIR, /run as
 * root, /dev/shm), else the system's temp directory.
 */
export function defaultEnvDir(node: string): string {
  const uid = process.getuid?.() ?? 0;
  const candidates = [
    process.env.XDG_RUNTIME_DIR,
    uid === 0 ? "/run" : undefined,
    "/dev/shm",
    tmpdir(),
  ].filter((d): d is string => !!d);
  for (const base of candidates) {
    try {
      if (lstatSync(base).isDirectory()) return join(base, `berth-agent-${uid}-${node}-env`);
    } catch {
      // not there: try the next
    }
  }
  return join(tmpdir(), `berth-agent-${uid}-${node}-env`);
}
