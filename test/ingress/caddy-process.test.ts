// startCaddy with a real caddy binary: it answers on the admin port it was given, keeps its files
// in its dir, stops by pid, and says why when it cannot start.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createCaddyAdmin } from "../../agent/ingress/caddy-admin.js";
import { startCaddy } from "../../agent/ingress/caddy-process.js";
import { freePort } from "../helpers/ports.js";
import { requireTool } from "../helpers/tools.js";
import { pidAlive, waitFor } from "../runtime/support.js";

const ok = requireTool("caddy", ["version"]);
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "berth-caddyproc-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe.skipIf(!ok)("startCaddy", () => {
  it("starts on the given admin port with its files under dir, and stops by pid", async () => {
    const dir = tempDir();
    const adminPort = await freePort();
    const caddy = await startCaddy({ dir, adminPort });
    try {
      expect(caddy.adminUrl).toBe(`http://127.0.0.1:${adminPort}`);
      expect(caddy.adminListen).toBe(`127.0.0.1:${adminPort}`);
      const admin = createCaddyAdmin(caddy.adminUrl);
      expect(await admin.current()).toEqual({
        admin: { listen: `127.0.0.1:${adminPort}`, config: { persist: false } },
      });
      await admin.close();
      expect(existsSync(join(dir, "boot.json"))).toBe(true);
      expect(existsSync(caddy.logFile)).toBe(true);
    } finally {
      await caddy.stop();
    }
    await waitFor("caddy to be gone", () => !pidAlive(caddy.pid));
  });

  it("fails with the reason and Caddy's log when the admin port is taken", async () => {
    const blocker = createServer();
    await new Promise<void>((res) => blocker.listen(0, "127.0.0.1", res));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(startCaddy({ dir: tempDir(), adminPort: port })).rejects.toThrow(
        new RegExp(
          `^starting Caddy with admin API at http://127.0.0.1:${port}: caddy exited \\(1\\) before its admin API answered[^]*address already in use`,
        ),
      );
    } finally {
      blocker.close();
    }
  });

  it("says when the caddy binary is missing", async () => {
    await expect(startCaddy({ dir: tempDir(), bin: "/no/such/caddy" })).rejects.toThrow(
      "cannot start caddy (/no/such/caddy): spawn /no/such/caddy ENOENT; is Caddy installed?",
    );
  });

  it("the admin client names the endpoint when nothing listens", async () => {
    const port = await freePort();
    const admin = createCaddyAdmin(`http://127.0.0.1:${port}`);
    await expect(admin.current()).rejects.toThrow(
      `Caddy admin API GET http://127.0.0.1:${port}/config/ failed: ECONNREFUSED`,
    );
    await expect(admin.ready(200)).rejects.toThrow(
      `Caddy admin API at http://127.0.0.1:${port} not ready after 200 ms`,
    );
    await admin.close();
  });
});
