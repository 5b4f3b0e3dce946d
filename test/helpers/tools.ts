// Decides whether a test that needs an external tool (git, caddy, podman) can run. Under CI=true a
// missing tool is a failure, never a silent skip.
import { execFileSync } from "node:child_process";

export function hasTool(cmd: string, args: string[] = ["--version"]): boolean {
  try {
    execFileSync(cmd, args, { stdio: "ignore", timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Returns true when `cmd` is usable. When it is not: throws under CI=true (the suite must fail),
 * otherwise prints why and returns false so the caller can `describe.skipIf(!ok)`.
 */
export function requireTool(cmd: string, args: string[] = ["--version"]): boolean {
  if (hasTool(cmd, args)) return true;
  const msg = `${cmd} is not installed: run scripts/setup (as root on Debian) to install it`;
  if (process.env.CI === "true") throw new Error(`${msg} (CI=true: tests may not skip)`);
  console.warn(`SKIP: ${msg}`);
  return false;
}
