// ensureMigrateReq: a proxy node's agent turns on net.ipv4.tcp_migrate_req (connections waiting
// to be accepted survive a Caddy config load) and says how to when it cannot. Exercised on files
// standing in for /proc/sys/net/ipv4/tcp_migrate_req, and on a read-only /proc file.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ensureMigrateReq } from "../../agent/ingress/reload-sysctl.js";

describe("ensureMigrateReq", () => {
  const dir = mkdtempSync(join(tmpdir(), "berth-sysctl-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("sets 0 to 1, and leaves 1 alone", async () => {
    const f = join(dir, "tcp_migrate_req");
    writeFileSync(f, "0\n");
    expect(await ensureMigrateReq(f)).toEqual({ ok: true, changed: true });
    expect(readFileSync(f, "utf8")).toBe("1");
    expect(await ensureMigrateReq(f)).toEqual({ ok: true, changed: false });
  });

  it("says what to do when the kernel has no such setting or it cannot be written", async () => {
    const missing = await ensureMigrateReq(join(dir, "nope"));
    expect(missing).toMatchObject({ ok: false, message: expect.stringContaining("Linux 5.14 or later") });
    const readOnly = await ensureMigrateReq("/proc/version");
    expect(readOnly).toMatchObject({
      ok: false,
      message: expect.stringContaining(
        "run sysctl -w net.ipv4.tcp_migrate_req=1 and add it to /etc/sysctl.d/",
      ),
    });
  });
});
