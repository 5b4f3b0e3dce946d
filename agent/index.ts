// startAgent: wires the node agent together — state dir, runtime drivers, Caddy ingress, the
// reconciler client, the status reporter, the state machine and the long-poll loop — and returns a
// handle to observe and stop it. Used by `berth agent` and `berth up`. On start it resumes the
// document kept in the state dir before the reconciler is even asked, so a restart with the
// reconciler down still repairs drift, and nothing already right is restarted.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import pino from "pino";
import { version } from "../cli/version.js";
import type { LogRequest, NodeStatus, Runtime, Workload } from "../schema/index.js";
import type { ObservedInstance } from "./core/actions.js";
import { healthPlace } from "./core/address.js";
import { type DeadlineSettings, defaultDeadlines } from "./core/deadlines.js";
import { checkDocument } from "./core/document.js";
import type { AgentEvent } from "./core/events.js";
import { sanitiseLine, secretValues } from "./core/log-line.js";
import { appOfWorkload } from "./core/log-parse.js";
import { AgentMetrics } from "./core/metrics.js";
import { excerptLineChars, excerptLines } from "./core/status.js";
import { slotSwitchDrainMs } from "./ingress/caddy-config.js";
import { createJournal } from "./logs/journal.js";
import { initialState, type LoopContext, setReach } from "./loop/context.js";
import { createDriverSet } from "./loop/drivers.js";
import { createExecutor } from "./loop/executor.js";
import { createMachine } from "./loop/machine.js";
import { findReach } from "./loop/node-address.js";
import { createNudge } from "./loop/nudge.js";
import { runPoller } from "./loop/poller.js";
import { createReconcilerClient } from "./loop/reconciler-client.js";
import { createRequestDispatcher } from "./loop/requests.js";
import { createStateWriter, ensureStateDir, loadState } from "./loop/state-dir.js";
import { createStatusReporter } from "./loop/status-reporter.js";
import { createRestartReporter } from "./restart/reporter.js";
import type { RuntimeDriver } from "./runtime/driver.js";
import { agentMarker, findMarked } from "./runtime/process-markers.js";
import { readRecords } from "./runtime/process-records.js";
import { createSecretResolver } from "./secrets/resolver.js";
import { sensitiveValues } from "./secrets/sensitive.js";

export type { AgentEvent } from "./core/events.js";

export interface AgentOptions {
  node: string;
  /** Reconciler base URL, e.g. http://10.0.0.1:7070, or several (the agent fails over between them in order). */
  url: string | readonly string[];
  token: string;
  stateDir: string;
  /** Injected by berth up and tests; otherwise made from the runtimes the documents name. */
  runtime?: RuntimeDriver;
  /** Resolves relative workdirs of process workloads (default: the current directory). */
  baseDir?: string;
  /** Caddy admin URL; enables ingress (proxy nodes). */
  caddyAdmin?: string;
  /** Caddy's plain-HTTP listener (default ":80"). */
  httpListen?: string;
  /** Caddy's TLS listener (default ":443"). */
  httpsListen?: string;
  /** Long-poll wait in seconds (default 10; the reconciler answers within its pollHold anyway). */
  pollWaitSeconds?: number;
  logger?: pino.Logger;
  onEvent?: (e: AgentEvent) => void;
  /** How often the observed state is checked for drift (default 5000 ms). */
  driftIntervalMs?: number;
  /** How often running instances are health-checked while idle (default 15000 ms, at least the drift interval). */
  healthIntervalMs?: number;
  /** Binary of the docker runtime (default `docker` on PATH). */
  dockerBin?: string;
  /**
   * This host's address for its workloads, instead of the document's (the node's `address`):
   * container ports are published there and every workload is health-checked there. "0.0.0.0" or
   * "::" publishes on every interface. Default: the document's address.
   */
  publishAddress?: string;
  /**
   * After a start-first replace, how long the old instance keeps serving beside the new one before
   * it is stopped. Default: slotSwitchDrainMs of the workload (its health interval + 250 ms when it
   * has a health path, 500 ms otherwise, 0 without a port) — until every proxy has checked the new
   * slot, so no request waits in Caddy's retry loop. The workload counts as applied meanwhile.
   */
  slotDrainMs?: number;
  /** Step deadlines (start budget, stop grace…); defaults suit production. */
  deadlines?: Partial<DeadlineSettings>;
  /**
   * The node's age identity file (berth node add / berth node identity write it): decrypts the
   * secrets of the workloads it starts. Without it, a workload that takes secrets fails to start
   * with an error saying so; everything else runs.
   */
  identityFile?: string;
  /** Where containers' env files live for the moment of a start (default: tmpfs, runtime/env-file.ts). */
  envDir?: string;
  /** "HOST:PORT" to serve Prometheus metrics on (GET /metrics); off when absent. */
  metricsListen?: string;
}

export interface RunningAgent {
  /** The /metrics URL when metricsListen was given. */
  metricsUrl?: string;
  /** Stops the agent; workloads keep running unless stopWorkloads. */
  stop(opts?: { stopWorkloads?: boolean }): Promise<void>;
  status(): NodeStatus;
  /** Resolves when the agent is IDLE and converged or failed for the current document. */
  idle(): Promise<void>;
}

/** Whether processes of an earlier run may exist: records, or processes carrying our marker. */
function hasProcessRecords(stateDir: string): boolean {
  try {
    if (readdirSync(join(stateDir, "processes")).some((f) => f.endsWith(".json"))) return true;
  } catch {
    // no records dir: look for marked processes (a crash before the first record was written)
  }
  return findMarked(agentMarker(stateDir)).length > 0;
}

/** How long a note about state files found unreadable at start stays in the node's status. */
const startNoteMs = 10 * 60_000;

export async function startAgent(opts: AgentOptions): Promise<RunningAgent> {
  const logger = opts.logger ?? pino({ name: "berth-agent", base: { node: opts.node } }, pino.destination(2));
  const metrics = opts.metricsListen ? new AgentMetrics(opts.node, version) : null;
  const journal = createJournal(opts.stateDir);
  /** Called after every action: log followers look for new instances then. */
  const activity = new Set<() => void>();
  const emit = (e: AgentEvent) => {
    metrics?.observe(e, Date.now());
    noteInJournal(journal, e);
    if (e.type === "action-succeeded" || e.type === "action-failed") for (const fn of activity) fn();
    try {
      opts.onEvent?.(e);
    } catch (err) {
      logger.error({ err: (err as Error).message }, "onEvent handler threw");
    }
  };
  const driftIntervalMs = opts.driftIntervalMs ?? 5_000;
  // Bound late: the machine that wakes on an exit is made after the drivers.
  let onRuntimeExit: () => void = () => {};
  await ensureStateDir(opts.stateDir);
  const stored = await loadState(opts.stateDir);
  for (const w of stored.warnings) logger.warn(w);

  // Loads nothing until a workload with secrets starts (the age library stays out of idle agents).
  const secrets = createSecretResolver({
    ...(opts.identityFile ? { identityFile: opts.identityFile } : {}),
    warn: (m) => logger.warn(m),
  });
  const resolveSecrets = secrets.decrypt;
  const state = initialState();
  // What was found unreadable at start is said in the status for a while, not only in the log.
  const note = (key: string, code: string, message: string) => {
    state.problems.set(key, { code, message });
    setTimeout(() => state.problems.delete(key), startNoteMs).unref();
  };
  for (const [i, w] of stored.warnings.entries()) note(`state-file-${i}`, "state-file-unreadable", w);
  // --publish-address 0.0.0.0 (or ::) publishes container ports on every interface, as before
  // berth knew node addresses; any other value replaces the document's address on this host.
  const wildcard = opts.publishAddress === "0.0.0.0" || opts.publishAddress === "::";
  const override = opts.publishAddress && !wildcard ? opts.publishAddress : undefined;
  const reachedAt = (): string | undefined => (state.reach.kind === "local" ? state.reach.host : undefined);
  const drivers = createDriverSet({
    ...(opts.runtime ? { injected: opts.runtime } : {}),
    make: async (runtime: Runtime): Promise<RuntimeDriver> => {
      if (runtime === "process") {
        const { createProcessDriver } = await import("./runtime/process-driver.js");
        return createProcessDriver({
          stateDir: opts.stateDir,
          // Exits of children it spawned arrive as events; polling is for adopted ones (and log
          // sizes), and every drift tick lists (and so checks) them anyway: no need to poll faster.
          pollMs: driftIntervalMs,
          resolveSecrets,
          ...(opts.baseDir ? { baseDir: opts.baseDir } : {}),
          host: reachedAt,
          onEvent: (e) => {
            const line = { instance: e.name, pid: e.pid, detail: e.detail };
            if (e.kind === "recovered" || e.kind === "problem") {
              logger.warn(line, `process ${e.kind}`);
              note(`process-record:${e.name}`, `process-${e.kind}`, `${e.name}: ${e.detail ?? ""}`);
            } else logger.info(line, `process ${e.kind}`);
          },
          onExit: () => onRuntimeExit(),
        });
      }
      const { createContainerDriver } = await import("./runtime/container-driver.js");
      return createContainerDriver({
        engine: runtime,
        node: opts.node,
        savedLogsDir: join(opts.stateDir, "logs", "containers"),
        resolveSecrets,
        ...(opts.envDir ? { envDir: opts.envDir } : {}),
        ...(runtime === "docker" && opts.dockerBin ? { bin: opts.dockerBin } : {}),
        publishAddress: () => (wildcard ? undefined : reachedAt()),
      });
    },
  });
  // Loaded only on proxy nodes: the Caddy admin client pulls in undici.
  const ingress = opts.caddyAdmin
    ? (await import("./loop/ingress.js")).createCaddyIngress({
        adminUrl: opts.caddyAdmin,
        httpListen: opts.httpListen ?? ":80",
        httpsListen: opts.httpsListen ?? ":443",
      })
    : null;
  if (ingress) {
    const { ensureMigrateReq } = await import("./ingress/reload-sysctl.js");
    const sysctl = await ensureMigrateReq();
    if (!sysctl.ok) {
      logger.warn(sysctl.message);
      state.problems.set("sysctl", { code: "ingress-reload-resets", message: sysctl.message });
    } else if (sysctl.changed) {
      logger.info("set net.ipv4.tcp_migrate_req=1: Caddy config loads no longer reset waiting connections");
    }
  }
  const waitSeconds = opts.pollWaitSeconds ?? 10;
  const client = createReconcilerClient({
    url: opts.url,
    node: opts.node,
    token: opts.token,
  });
  // A report or a poll that gets through ends the other's back-off: after an outage the agent is
  // back in contact on its first successful call, not after the longer of two back-offs.
  const nudge = createNudge();
  const reporter = createStatusReporter({
    put: (s, signal) => client.putStatus(s, signal),
    logger,
    onSent: (s) => {
      nudge.fire();
      emit({ type: "status-reported", phase: s.phase });
    },
  });
  const abort = new AbortController();
  const deadlines = { ...defaultDeadlines, ...opts.deadlines };
  // Every workload is health-checked where the proxies reach it: the node's address.
  const place = (runtime: Runtime) => healthPlace(state.reach, runtime);
  /**
   * The instance's last lines, made safe to show: sanitised, bounded, and with every value the
   * workload must not show redacted — secret-looking env values, URL passwords and the plaintext of
   * its encrypted secrets (an app that prints its own secret on the way down).
   */
  const excerpt = async (i: ObservedInstance, w: Workload) => {
    const raw = await drivers.forRuntime(i.runtime).tail(i, excerptLines);
    if (raw === "") return [];
    const hidden = await sensitiveValues(w, secrets);
    return raw
      .split("\n")
      .slice(-excerptLines)
      .map((l) => sanitiseLine(l, { secrets: hidden, maxBytes: excerptLineChars }));
  };
  const store = createStateWriter(opts.stateDir, (e) => {
    if (!e) {
      state.problems.delete("state");
      return;
    }
    state.problems.set("state", { code: "state-dir-unwritable", message: e.message });
    logger.error({ err: e.message }, "cannot write the state dir; a restart would resume an older document");
  });
  const ctx: LoopContext = {
    deps: {
      node: opts.node,
      agentVersion: version,
      stateDir: opts.stateDir,
      store,
      drivers,
      secrets,
      ingress,
      execute: createExecutor({
        drivers,
        ingress,
        deadlines,
        healthPlace: place,
        signal: abort.signal,
        drainMs: (w) => opts.slotDrainMs ?? slotSwitchDrainMs(w),
        excerpt,
        now: Date.now,
        resolveSecrets,
      }),
      excerpt,
      reporter,
      logger,
      emit,
      healthPlace: place,
      findReach: (doc) => findReach(opts.node, override ?? doc.upstreamAddress),
      now: Date.now,
      random: Math.random,
      restarts: createRestartReporter({
        send: (id, report, signal) => client.report(id, report, signal),
        journal,
        logger,
        signal: abort.signal,
      }),
    },
    state,
  };

  if (stored.desired !== null) {
    const check = checkDocument(stored.desired, opts.node);
    if (check.ok) {
      ctx.state.doc = check.doc;
      ctx.state.desiredHash = check.doc.hash;
      ctx.state.knownSpecs = new Map(check.doc.workloads.map((w) => [w.specHash, w]));
      setReach(ctx, await ctx.deps.findReach(check.doc));
      await drivers.ensure(new Set(check.doc.workloads.map((w) => w.runtime)));
      logger.info(
        { hash: check.doc.hash, commit: check.doc.source.commit },
        "resuming the document from the state dir",
      );
    } else {
      const message = `ignoring the stored desired document: ${check.message}`;
      logger.warn(message);
      note("state-file-desired", "state-file-unreadable", message);
    }
  }
  ctx.state.applied = stored.applied;
  ctx.state.crashes = new Map(stored.memory.crashes.map((r) => [r.key, r]));
  ctx.state.specCommits = new Map(Object.entries(stored.memory.specCommits));
  // Processes recorded by an earlier run are adopted even when no document names the process runtime now.
  if (!opts.runtime && hasProcessRecords(opts.stateDir)) await drivers.ensure(["process"]);

  const machine = createMachine(ctx, { driftIntervalMs, healthIntervalMs: opts.healthIntervalMs ?? 15_000 });
  onRuntimeExit = () => machine.runtimeChanged();
  machine.start();

  // Values the app's output is redacted of (agent/secrets/sensitive.ts): secret-looking env values,
  // URL passwords and decrypted secrets of the app's workloads in the documents the agent knows
  // (current and previous), and, for processes started before an agent restart, the secret-looking
  // values of their records (re-read at most every 10 s).
  let recorded: { at: number; env: { app: string; env: Record<string, string> }[] } = { at: 0, env: [] };
  const secretsFor = async (app: string): Promise<string[]> => {
    if (Date.now() - recorded.at > 10_000) {
      recorded = {
        at: Date.now(),
        env: readRecords(opts.stateDir).records.map((r) => ({ app: r.app, env: r.env })),
      };
    }
    const out = new Set<string>();
    for (const w of ctx.state.knownSpecs.values())
      if (w.app === app) for (const v of await sensitiveValues(w, secrets)) out.add(v);
    for (const r of recorded.env) if (r.app === app) for (const v of secretValues(r.env)) out.add(v);
    return [...out];
  };
  const sessions = new Set<Promise<void>>();
  const maxSessions = 8;
  const startLogs = (req: LogRequest): void => {
    if (sessions.size >= maxSessions) {
      const notices = [
        `node ${opts.node} already serves ${maxSessions} log requests; try again when one ends`,
      ];
      void client.uploadLogs(req.id, { entries: [], historyDone: true, done: true, notices }, abort.signal);
      return;
    }
    // The log reader is loaded on the first request only: an agent nobody watches does not carry it.
    const run = import("./logs/session.js").then((m) =>
      m.runLogSession(req, {
        stateDir: opts.stateDir,
        instances: () => drivers.list(),
        driverOf: (runtime) => {
          try {
            return drivers.forRuntime(runtime);
          } catch {
            return undefined;
          }
        },
        secrets: secretsFor,
        upload: (id, batch, signal) => client.uploadLogs(id, batch, signal),
        onActivity: (fn) => {
          activity.add(fn);
          return () => activity.delete(fn);
        },
        signal: abort.signal,
      }),
    );
    const p: Promise<void> = run
      .catch((e: Error) =>
        logger.error({ err: e.stack, request: req.id }, "log session failed (this is a bug)"),
      )
      .finally(() => sessions.delete(p));
    sessions.add(p);
  };
  const requests = createRequestDispatcher({
    fetch: (signal) => client.fetchRequests(signal),
    onLogs: startLogs,
    onRestart: (req) => machine.restart(req),
    logger,
    signal: abort.signal,
  });
  const poller = runPoller({
    nudge,
    onRecovered: () => reporter.retryNow(),
    client,
    machine,
    waitSeconds,
    initialEtag: ctx.state.doc?.hash ?? null,
    signal: abort.signal,
    logger,
    emit,
    onRequests: () => requests.pending(),
    ...(metrics ? { onContact: (at: number) => metrics.contact(at) } : {}),
  });
  const metricsServer =
    metrics && opts.metricsListen
      ? await (await import("./loop/metrics-server.js")).startMetricsServer(opts.metricsListen, metrics, () =>
          machine.status(),
        )
      : null;
  logger.info(
    { url: client.urls(), stateDir: opts.stateDir, ingress: Boolean(ingress), metrics: metricsServer?.url },
    "agent started",
  );

  let stopped: Promise<void> | null = null;
  return {
    ...(metricsServer ? { metricsUrl: metricsServer.url } : {}),
    status: () => machine.status(),
    idle: () => machine.idle(),
    stop(stopOpts) {
      stopped ??= (async () => {
        abort.abort();
        await metricsServer?.close();
        await machine.stop();
        await poller.catch(() => undefined);
        await Promise.all([...sessions]);
        await ctx.deps.restarts?.flush();
        await store.flush();
        await reporter.flush(2_000);
        reporter.close();
        if (stopOpts?.stopWorkloads) {
          const all = await drivers.list().catch(() => []);
          for (const i of all) {
            await drivers
              .forRuntime(i.runtime)
              .stop(i, deadlines.stopGraceMs)
              .catch((e: Error) => logger.warn({ err: e.message }, `cannot stop ${i.name}`));
          }
        }
        await drivers.close({ stopAll: stopOpts?.stopWorkloads === true });
        await ingress?.close();
        await client.close();
        logger.info({ workloadsLeftRunning: !stopOpts?.stopWorkloads }, "agent stopped");
      })();
      return stopped;
    },
  };
}

/** berth's own line in the app's journal for each action on it (shown by `berth logs`). */
function noteInJournal(journal: ReturnType<typeof createJournal>, e: AgentEvent): void {
  if (e.type !== "action-started" && e.type !== "action-succeeded" && e.type !== "action-failed") return;
  if (!e.workloadId) return;
  const app = appOfWorkload(e.workloadId);
  if (e.type === "action-started")
    journal.note(app, `${e.reason}${e.attempt > 1 ? ` (attempt ${e.attempt})` : ""}`);
  else if (e.type === "action-succeeded") journal.note(app, `done: ${e.reason} (${e.ms} ms)`);
  else if (e.kind === "restart") journal.note(app, `failed: ${e.reason}: ${e.error} (not retried)`);
  else
    journal.note(
      app,
      `failed: ${e.reason}: ${e.error}; retrying in ${Math.max(1, Math.round(e.retryInMs / 1000))} s`,
    );
}
