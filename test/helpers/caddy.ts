// Starts a real Caddy for a test: its own temp dir (XDG data/config, log), admin API and HTTP/HTTPS
// listeners on free 127.0.0.1 ports. `stop()` ends the Caddy process (by its pid) and removes the dir.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CaddyAdmin, createCaddyAdmin } from "../../agent/ingress/caddy-admin.js";
import type { CaddyConfigOptions } from "../../agent/ingress/caddy-config.js";
import { type RunningCaddy, startCaddy } from "../../agent/ingress/caddy-process.js";
import { freePort } from "./ports.js";

export interface TestCaddy {
  caddy: RunningCaddy;
  admin: CaddyAdmin;
  dir: string;
  httpPort: number;
  httpsPort: number;
  /** Options for buildCaddyConfig that fit this Caddy (loopback listeners, its admin.listen). */
  configOptions: CaddyConfigOptions;
  stop(): Promise<void>;
}

export async function startTestCaddy(): Promise<TestCaddy> {
  const dir = mkdtempSync(join(tmpdir(), "berth-caddy-"));
  const caddy = await startCaddy({ dir, adminPort: await freePort() });
  const httpPort = await freePort();
  const httpsPort = await freePort();
  const admin = createCaddyAdmin(caddy.adminUrl);
  return {
    caddy,
    admin,
    dir,
    httpPort,
    httpsPort,
    configOptions: {
      adminListen: caddy.adminListen,
      httpListen: `127.0.0.1:${httpPort}`,
      httpsListen: `127.0.0.1:${httpsPort}`,
      storageDir: join(dir, "data", "caddy"),
    },
    async stop() {
      await admin.close();
      await caddy.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
