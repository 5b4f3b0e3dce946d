// Caddy on Linux opens each config's listener as its own SO_REUSEPORT socket; when a config load
// closes the old one, connections that were waiting in its accept queue are reset (measured in
// the multi-host tier: 11 and 98 resets of ~4,300 requests over 60 back-to-back loads). Since
// Linux 5.14, net.ipv4.tcp_migrate_req=1 moves them to the new socket instead (0 resets in the
// same runs). The agent of a proxy node sets it (for its network namespace) when it can, and
// reports a problem saying how to when it cannot. Touches only that one sysctl.
import { readFile, writeFile } from "node:fs/promises";

const path = "/proc/sys/net/ipv4/tcp_migrate_req";

export type ReloadSysctl = { ok: true; changed: boolean } | { ok: false; message: string };

export async function ensureMigrateReq(file = path): Promise<ReloadSysctl> {
  let now: string;
  try {
    now = (await readFile(file, "utf8")).trim();
  } catch {
    return {
      ok: false,
      message: `${file} does not exist (Linux before 5.14?): each Caddy config load resets connections waiting to be accepted; use Linux 5.14 or later`,
    };
  }
  if (now === "1") return { ok: true, changed: false };
  try {
    await writeFile(file, "1");
    return { ok: true, changed: true };
  } catch (e) {
    return {
      ok: false,
      message: `net.ipv4.tcp_migrate_req is ${now} and cannot be set (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): each Caddy config load resets connections waiting to be accepted; run sysctl -w net.ipv4.tcp_migrate_req=1 and add it to /etc/sysctl.d/`,
    };
  }
}
