// A berth for the alert tests: a real config repo (local mode), the real reconciler with short
// liveness bounds, its real HTTP API with /metrics and /v1/alerts, the alert service wired as
// `berth serve` wires it, and (on demand) a real agent running the app as a real process. The
// reconciler side can be stopped and started again on the same repo (a restart).
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { type RunningAgent, startAgent } from "../../agent/index.js";
import { createProcessDriver } from "../../agent/runtime/process-driver.js";
import { type Alerting, createAlerting } from "../../reconciler/alerts/wire.js";
import { EventBus } from "../../reconciler/events.js";
import { type ApiServer, startApiServer } from "../../reconciler/http/server.js";
import { createMetrics } from "../../reconciler/metrics.js";
import { createReconciler, type Reconciler } from "../../reconciler/reconciler.js";
import { randomPortBase } from "../e2e/helpers.js";
import { makeRepo, type TestRepo } from "../helpers/git-repo.js";

const appScript = fileURLToPath(new URL("../fixtures/apps/app.mjs", import.meta.url));
const token = "alert-bed-token-0123456789abcdef";
const sha = (s: string) => createHash("sha256").update(s).digest("hex");

export interface ReceiverSpec {
  name: string;
  /** A URL in berth.yaml, or one taken from the secrets file (urlSecret). */
  url: string;
  fromSecrets?: boolean;
  signingKey?: string;
}

export interface BedOptions {
  receivers: ReceiverSpec[];
  rules: string[];
  tickMs?: number;
  /** The reconciler's degraded bound (default 60 s). */
  degradedAfterMs?: number;
}

export interface Bed {
  repo: TestRepo;
  reconciler: Reconciler;
  alerting: Alerting;
  api: ApiServer;
  events: EventBus;
  files(): Record<string, string>;
  /** Commits apps/web.yaml with these env entries (or an invalid document). */
  commitApp(env: Record<string, string> | "invalid", message: string): Promise<string>;
  startAgent(): Promise<RunningAgent>;
  stopAgent(): Promise<void>;
  restartReconciler(): Promise<void>;
  close(): Promise<void>;
}

function appYaml(env: Record<string, string>): string {
  const envLines = Object.entries(env).map(([k, v]) => `  ${k}: "${v}"`);
  return [
    "kind: App",
    "name: web",
    `command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(appScript)}]`,
    "port: 8080",
    "replicas: 1",
    "env:",
    ...envLines,
    "health:",
    "  path: /healthz",
    "  intervalSeconds: 0.2",
    "  timeoutSeconds: 1",
    "  startPeriodSeconds: 1",
    "  unhealthyThreshold: 2",
    "",
  ].join("\n");
}

export async function startBed(opts: BedOptions): Promise<Bed> {
  const base = randomPortBase();
  const receivers = opts.receivers.map((r) =>
    [
      `    - name: ${r.name}`,
      "      kind: webhook",
      r.fromSecrets ? `      urlSecret: ${r.name}-url` : `      url: ${r.url}`,
      ...(r.signingKey ? [`      signingSecret: ${r.name}-key`] : []),
    ].join("\n"),
  );
  const files: Record<string, string> = {
    "berth.yaml": [
      "kind: Settings",
      "branch: main",
      "publicUrl: https://berth.example.com",
      "alerts:",
      "  receivers:",
      ...receivers,
      "  rules:",
      ...opts.rules.map((r) => `    - ${r}`),
      "",
    ].join("\n"),
    "nodes/n1.yaml": `kind: Node\nname: n1\naddress: 127.0.0.1\nroles: [worker]\nruntime: process\nportRange: [${base}, ${base + 99}]\ntokenSha256: ${sha(token)}\n`,
    "apps/web.yaml": appYaml({ REPLY: "v1" }),
  };
  const secrets = new Map<string, string>();
  for (const r of opts.receivers) {
    if (r.fromSecrets) secrets.set(`${r.name}-url`, r.url);
    if (r.signingKey) secrets.set(`${r.name}-key`, r.signingKey);
  }
  const repo = await makeRepo(files);
  const stateDir = mkdtempSync(join(tmpdir(), `berth-alert-bed-${process.pid}-`));
  const logger = pino({ level: process.env.BED_LOG ? "debug" : "silent" });
  let agent: RunningAgent | undefined;

  const bed = { repo } as Bed;
  async function startReconciler(): Promise<void> {
    const events = new EventBus();
    const metrics = createMetrics({ processMetrics: false });
    const alerting = createAlerting({
      events,
      metrics,
      logger,
      secrets,
      owner: `test:${repo.dir}`,
      tickMs: opts.tickMs ?? 100,
      retry: { baseMs: 50, capMs: 500, attempts: 6 },
      timeoutMs: 60_000,
    });
    const reconciler = await createReconciler({
      repoDir: repo.dir,
      events,
      logger,
      pollIntervalMs: 200,
      statusBatchMs: 200,
      ...(opts.degradedAfterMs !== undefined ? { degradedAfterMs: opts.degradedAfterMs } : {}),
      observers: [metrics, alerting.observer],
      extraRoles: alerting.extraRoles,
      onConfig: (s) => alerting.service.configure(s),
      // Short enough for a test, long enough that a loaded machine does not lose a live agent.
      liveness: { staleAfterMs: 2_000, lostAfterMs: 6_000, startupGraceMs: 1_000, pollHoldMs: 1_000 },
    });
    await reconciler.start();
    await alerting.service.start(reconciler, reconciler.branches());
    const api = await startApiServer({
      listen: "127.0.0.1:0",
      backend: reconciler,
      events,
      metrics,
      logger,
      alerts: alerting.service,
    });
    Object.assign(bed, { reconciler, alerting, api, events });
  }
  async function stopReconciler(): Promise<void> {
    await bed.api.close();
    await bed.reconciler.stop();
    await bed.alerting.close();
  }
  await startReconciler();

  Object.assign(bed, {
    files: () => files,
    async commitApp(env: Record<string, string> | "invalid", message: string) {
      const text =
        env === "invalid" ? appYaml({ REPLY: "v1" }).replace("replicas: 1", "replicas: -1") : appYaml(env);
      return repo.commit({ "apps/web.yaml": text }, message);
    },
    async startAgent() {
      agent = await startAgent({
        node: "n1",
        url: bed.api.url,
        token,
        stateDir,
        logger,
        pollWaitSeconds: 1,
        driftIntervalMs: 300,
        healthIntervalMs: 300,
      });
      return agent;
    },
    async stopAgent() {
      await agent?.stop();
      agent = undefined;
    },
    restartReconciler: async () => {
      await stopReconciler();
      await startReconciler();
    },
    async close() {
      await agent?.stop({ stopWorkloads: true }).catch(() => undefined);
      await createProcessDriver({ stateDir })
        .close({ stopAll: true })
        .catch(() => undefined);
      await stopReconciler().catch(() => undefined);
      rmSync(stateDir, { recursive: true, force: true });
      await repo.cleanup();
    },
  });
  return bed;
}
