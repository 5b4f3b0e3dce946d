// A real browser for the operations page's tests: Debian's chromium (never a downloaded build),
// started by us with a fresh profile and a DevTools port on 127.0.0.1, driven by playwright-core
// over CDP. It runs in its own process group, so close() ends it and every helper process it
// started by that group's id, even when the test failed half-way.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

export const chromiumArgs = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface RealBrowser {
  browser: Browser;
  pid: number;
  close(): Promise<void>;
}

export async function launchBrowser(timeoutMs = 60_000): Promise<RealBrowser> {
  const profile = mkdtempSync(join(tmpdir(), `berth-chromium-${process.pid}-`));
  const child: ChildProcess = spawn(
    CHROMIUM,
    [
      ...chromiumArgs,
      `--user-data-dir=${profile}`,
      "--remote-debugging-address=127.0.0.1",
      "--remote-debugging-port=0",
      "about:blank",
    ],
    { detached: true, stdio: ["ignore", "ignore", "pipe"] },
  );
  const pid = child.pid as number;
  const kill = async () => {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // already gone
    }
    if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once("exit", r));
    rmSync(profile, { recursive: true, force: true });
  };
  try {
    const ws = await new Promise<string>((resolve, reject) => {
      let err = "";
      const timer = setTimeout(
        () =>
          reject(new Error(`chromium did not open its DevTools port in ${timeoutMs} ms: ${err.slice(-500)}`)),
        timeoutMs,
      );
      child.stderr?.on("data", (d: Buffer) => {
        err += d.toString();
        const m = /DevTools listening on (ws:\/\/\S+)/.exec(err);
        if (m?.[1]) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`chromium exited with ${code}: ${err.slice(-500)}`));
      });
    });
    const browser = await chromium.connectOverCDP(ws, { timeout: timeoutMs });
    return {
      browser,
      pid,
      async close() {
        await browser.close().catch(() => {});
        await kill();
      },
    };
  } catch (err) {
    await kill();
    throw err;
  }
}
