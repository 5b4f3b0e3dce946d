// The agent's /metrics (`--metrics-listen`): against the real reconciler API it converges a real
// process app, then its exposition passes `promtool check metrics` and counts what happened
// (actions by kind and outcome, apply durations, instances, last contact). The hand-written
// exposition escapes label values as the format requires.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { render } from "../../agent/core/exposition.js";
import { type RunningAgent, startAgent } from "../../agent/index.js";
import { createProcessDriver } from "../../agent/runtime/process-driver.js";
import { generateToken, sha256Hex } from "../../reconciler/auth.js";
import { EventBus } from "../../reconciler/events.js";
import { type ApiServer, startApiServer } from "../../reconciler/http/server.js";
import { createMetrics } from "../../reconciler/metrics.js";
import { checkMetrics } from "../helpers/promtool.js";
import { requireTool } from "../helpers/tools.js";
import { MemoryBackend } from "../reconciler/http/memory-backend.js";
import { appWorkload } from "./helpers/agent-harness.js";
import { desiredDoc } from "./helpers/docs.js";
import { freePortPair } from "./helpers/ports.js";
import { waitFor } from "./helpers/wait.js";

const havePromtool = requireTool("promtool", ["--version"]);
let server: ApiServer | undefined;
let agent: RunningAgent | undefined;
let stateDir: string | undefined;
afterEach(async () => {
  await agent?.stop({ stopWorkloads: true });
  if (stateDir) await createProcessDriver({ stateDir }).close({ stopAll: true });
  await server?.close();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  agent = server = stateDir = undefined;
});

describe("agent /metrics", () => {
  it.skipIf(!havePromtool)(
    "is promtool-clean and counts actions, applies, instances and contact",
    async () => {
      stateDir = mkdtempSync(join(tmpdir(), `berth-agent-metrics-${process.pid}-`));
      const backend = new MemoryBackend();
      const token = generateToken();
      const p = await freePortPair();
      const v1 = desiredDoc("node-a", [appWorkload({ hostPort: p, reply: "v1" })]);
      backend.publish([v1], { "node-a": sha256Hex(token) });
      server = await startApiServer({
        listen: "127.0.0.1:0",
        backend,
        events: new EventBus(),
        metrics: createMetrics({ processMetrics: false }),
        logger: pino({ level: "silent" }),
      });
      agent = await startAgent({
        node: "node-a",
        url: server.url,
        token,
        stateDir,
        logger: pino({ level: "silent" }),
        pollWaitSeconds: 20,
        metricsListen: "127.0.0.1:0",
      });
      expect(agent.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      await waitFor("converged", () => {
        const s = backend.statuses.get("node-a");
        return s?.phase === "converged" && s.appliedHash === v1.hash;
      });
      await waitFor("agent long-polling", () => backend.waiters.size === 1);
      const res = await request(agent.metricsUrl as string);
      expect(res.statusCode).toBe(200);
      expect(String(res.headers["content-type"])).toContain("text/plain; version=0.0.4");
      const text = await res.body.text();
      const verdict = checkMetrics(text);
      expect(verdict.output).toBe("");
      expect(verdict.ok).toBe(true);
      expect(text).toMatch(/berth_agent_info\{node="node-a",version="[^"]+"\} 1/);
      expect(text).toContain('berth_agent_phase{phase="converged"} 1');
      expect(text).toContain("berth_agent_in_sync 1");
      expect(text).toContain('berth_agent_instances{app="web",state="running",health="healthy"} 1');
      expect(text).toMatch(/berth_agent_actions_total\{kind="create",outcome="succeeded"\} 1/);
      expect(text).toMatch(/berth_agent_apply_duration_seconds_count [1-9]/);
      expect(text).toMatch(/berth_agent_action_duration_seconds_count\{kind="create"\} 1/);
      expect(text).toMatch(/berth_agent_last_contact_timestamp_seconds \d+/);
      expect(text).toContain("berth_agent_drift_repairs_total 0");
      expect(text).toMatch(/process_resident_memory_bytes \d+/);
      const other = await request(agent.metricsUrl?.replace("/metrics", "/other") as string);
      expect(other.statusCode).toBe(404);
      await other.body.dump();
    },
  );

  it("escapes label values and writes cumulative histogram buckets", () => {
    const text = render([
      { name: "x_info", help: "a\\b\nc", type: "gauge", samples: [{ labels: { v: 'q"\\\n' }, value: 1 }] },
      {
        name: "d_seconds",
        help: "h",
        type: "histogram",
        buckets: [0.1, 1],
        series: [{ counts: [2, 1], sum: 1.5, count: 4 }],
      },
    ]);
    expect(text).toBe(
      [
        "# HELP x_info a\\\\b\\nc",
        "# TYPE x_info gauge",
        'x_info{v="q\\"\\\\\\n"} 1',
        "# HELP d_seconds h",
        "# TYPE d_seconds histogram",
        'd_seconds_bucket{le="0.1"} 2',
        'd_seconds_bucket{le="1"} 3',
        'd_seconds_bucket{le="+Inf"} 4',
        "d_seconds_sum 1.5",
        "d_seconds_count 4",
        "",
      ].join("\n"),
    );
  });
});
