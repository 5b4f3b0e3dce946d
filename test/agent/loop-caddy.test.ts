// The agent managing a real Caddy through its admin API: routes loaded once, requests served
// through Caddy to a real process, a route edited by hand restored by the drift check.
import { request } from "node:http";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startTestCaddy, type TestCaddy } from "../helpers/caddy.js";
import { requireTool } from "../helpers/tools.js";
import { appWorkload, converged, type Harness, makeHarness, statusFor } from "./helpers/agent-harness.js";
import { desiredDoc } from "./helpers/docs.js";
import { freePortPair } from "./helpers/ports.js";
import { waitFor } from "./helpers/wait.js";

const ok = requireTool("caddy", ["version"]);

function viaCaddy(port: number, host: string): Promise<{ status: number; body: string } | null> {
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, path: "/", headers: { host }, timeout: 5_000 }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => {
        body += c.toString();
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", () => resolve(null));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

describe.skipIf(!ok)("agent with a real Caddy", () => {
  let h: Harness;
  let caddy: TestCaddy;
  beforeEach(async () => {
    h = await makeHarness("proxy-1");
    caddy = await startTestCaddy();
  });
  afterEach(async () => {
    await h.cleanup();
    await caddy.stop();
  });

  it("loads the routes once, serves through Caddy, and restores a route edited by hand", async () => {
    const p = await freePortPair();
    const doc = desiredDoc(
      h.node,
      [appWorkload({ hostPort: p, reply: "through-caddy" })],
      [{ host: "app.test", path: "/", tls: "off", upstreams: [`127.0.0.1:${p}`] }],
    );
    h.rec.publish(doc);
    await h.start({
      caddyAdmin: caddy.caddy.adminUrl,
      httpListen: caddy.configOptions.httpListen,
      httpsListen: caddy.configOptions.httpsListen,
    });
    const s = await statusFor(h, doc.hash, converged(doc.hash));
    expect(s.ingress).toMatchObject({ applied: true, lastError: null });
    expect(await viaCaddy(caddy.httpPort, "app.test")).toEqual({ status: 200, body: "through-caddy" });
    expect(h.logs.join("\n")).toContain("routes: load Caddy config with 1 route (running config differs)");
    const routeLoads = () =>
      h.events.filter((e) => e.type === "action-started" && e.kind === "routes").length;
    expect(routeLoads()).toBe(1);

    // Someone edits the running config by hand: the route now matches another host.
    const running = (await caddy.admin.current()) as Record<string, unknown>;
    const edited = JSON.parse(JSON.stringify(running).replaceAll('"app.test"', '"hijacked.test"'));
    await caddy.admin.load(edited);
    // (Not asserting the 404 in between: the agent may already have repaired it.)

    await waitFor(
      "route restored",
      async () => (await viaCaddy(caddy.httpPort, "app.test"))?.body === "through-caddy",
    );
    expect(routeLoads()).toBe(2);
    const after = await statusFor(
      h,
      doc.hash,
      (st) => st.phase === "converged" && st.ingress?.applied === true && st.drift?.repaired === 1,
    );
    expect(after.drift?.last).toBe("routes: load Caddy config with 1 route (running config differs)");
  });
});
