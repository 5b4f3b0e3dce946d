// The reconciler's loop: notices new commits of the tracked branch (local watch, webhook, poll),
// coalesces bursts into one run that reads the newest tip, evaluates it, plans it against the
// last PUBLISHED generation and commits the next generation to the desired branch with
// compare-and-swap (a lost race adopts the winner and runs again), then serves it and wakes
// long-polls. Also implements the rest of ApiBackend: status reports (batched onto the status
// branch), lastSeen, plans between refs. It does not speak HTTP (reconciler/http does) and does
// not compute anything itself (core/ does). See docs/reconciler.md.
import type { Logger } from "pino";
import { ParseCache } from "../core/config/index.js";
import type { Config } from "../core/config/model.js";
import { Evaluator } from "../core/evaluate.js";
import { computePlan, hasChanges, type PlanInput, summaryLine } from "../core/plan/index.js";
import type { DesiredState, Diagnostic, NodeStatus, Plan } from "../schema/index.js";
import type { ApiBackend, EventSink, PublishedView, TriggerRequest } from "./contracts.js";
import { loadCommit } from "./repo/load.js";
import {
  type BranchSettings,
  type Caches,
  defaultBranches,
  loadCommitInput,
  loadWorktreeInput,
  settingsAt,
} from "./source/config-input.js";
import { openLocalSource } from "./source/local.js";
import { openRemoteSource } from "./source/remote.js";
import type { ConfigSource } from "./source/types.js";
import { carryUnchanged, type DesiredSnapshot, publishMessage } from "./store/desired-layout.js";
import { readDesiredCommit, writeDesiredCommit } from "./store/desired-store.js";
import { ServedState } from "./store/served.js";
import { StatusBatcher } from "./store/status-batcher.js";
import { statusKey } from "./store/status-layout.js";

export interface ReconcilerOptions {
  /** Local mode: the config repo's directory (watched; branches written into its .git). */
  repoDir?: string;
  /** Remote mode: fetched into the bare cache `cacheDir`; branches pushed. */
  remote?: { url: string; token?: string; cacheDir: string };
  /** Tracked branch; default: the `branch` of berth.yaml on the repo's default branch, else main. */
  branch?: string;
  /** Safety-net check interval: remote fetch (default 60 s) or local ref check (default 5 s). */
  pollIntervalMs?: number;
  events: EventSink;
  logger: Logger;
  /** Status commits happen at most once per this many ms (default 2000). */
  statusBatchMs?: number;
  /** Observers of outcomes (forge commit statuses, deploy tracking). Must not throw. */
  hooks?: ReconcilerHooks;
}

export interface ReconcilerHooks {
  planning?(commit: string): void;
  /** `affected`: node → new document hash for every node whose document changed (empty: unchanged). */
  published?(commit: string, summary: string, affected: ReadonlyMap<string, string>): void;
  rejected?(commit: string, diagnostics: Diagnostic[]): void;
  nodeStatus?(node: string, status: NodeStatus): void;
}

export interface Reconciler extends ApiBackend {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Settles when no work is pending (tests). */
  idle(): Promise<void>;
  /** Touches a node's lastSeen (the HTTP layer calls it on every authenticated agent call). */
  seen(node: string, at: number): void;
  /** The branches in use and the forge berth.yaml names (known after start). */
  settings(): BranchSettings;
}

/** Diagnostics put in one `rejected` event or log burst; the rest are counted. */
const maxReported = 50;
/** Lost publish races in a row before backing off: someone keeps moving the desired branch. */
const maxRaces = 10;

export async function createReconciler(opts: ReconcilerOptions): Promise<Reconciler> {
  if ((opts.repoDir === undefined) === (opts.remote === undefined)) {
    throw new Error("createReconciler needs exactly one of repoDir (local mode) or remote (remote mode)");
  }
  const log = opts.logger;
  const events = opts.events;
  const hooks = opts.hooks ?? {};
  let settings: BranchSettings = { ...defaultBranches, branch: opts.branch ?? defaultBranches.branch };
  const source: ConfigSource = opts.remote
    ? await openRemoteSource({
        url: opts.remote.url,
        token: opts.remote.token,
        cacheDir: opts.remote.cacheDir,
        pollIntervalMs: opts.pollIntervalMs ?? 60_000,
      })
    : await openLocalSource({
        repoDir: opts.repoDir as string,
        pollIntervalMs: opts.pollIntervalMs ?? 5_000,
      });
  const caches: Caches = { parse: new ParseCache({ keepLoads: 2 }), evaluator: new Evaluator() };
  const served = new ServedState();
  let status: StatusBatcher | undefined;
  const lastSeen = new Map<string, number>();
  const lastStatus = new Map<string, NodeStatus>();
  const lastStatusKey = new Map<string, string>();

  /** Config of the published source commit, for the resource part of plans (loaded lazily). */
  let publishedConfig: Config | null | undefined;
  /** Newest tip already handled (published, unchanged or rejected): the same tip is not redone. */
  let handled: string | null = null;
  /** Remote mode: the desired branch must be (re)fetched before the tracked one. */
  let adoptFirst = source.mode === "remote";
  let warnedEmpty = false;

  let dirty = false;
  let running: Promise<void> | undefined;
  let since: number | undefined;
  let lastSource: TriggerRequest["source"] = "startup";
  let failures = 0;
  let races = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  let started = false;
  let stopped = false;

  function trigger(req: TriggerRequest): void {
    // Before start() the branches are unknown; start() triggers the first run itself.
    if (stopped || !started) return;
    dirty = true;
    since ??= performance.now();
    lastSource = req.source;
    running ??= drain();
  }

  async function drain(): Promise<void> {
    try {
      while (dirty && !stopped) {
        dirty = false;
        const t0 = since ?? performance.now();
        since = undefined;
        try {
          await reconcileOnce(t0, lastSource);
          failures = 0;
        } catch (err) {
          failures++;
          const message = (err as Error)?.message ?? String(err);
          log.error({ err: message, failures }, "reconcile failed; will retry");
          events.emit("error", { op: "reconcile", message });
          retryLater(Math.min(60_000, 500 * 2 ** Math.min(failures, 7)));
        }
      }
    } finally {
      running = undefined;
    }
  }

  function retryLater(ms: number): void {
    if (retryTimer || stopped) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      trigger({ source: "poll" });
    }, ms);
    retryTimer.unref();
  }

  async function reconcileOnce(t0: number, why: TriggerRequest["source"]): Promise<void> {
    if (adoptFirst) {
      await adopt("startup");
      adoptFirst = false;
    }
    const lap = stopwatch(t0);
    const tip = await source.refresh(settings.branch);
    lap("refresh");
    if (tip === null) {
      if (!warnedEmpty)
        log.warn({ branch: settings.branch, repo: source.describe }, "tracked branch has no commits yet");
      warnedEmpty = true;
      return;
    }
    if (tip === handled) {
      if (why === "startup") {
        log.info(
          { branch: settings.branch, commit: tip, generation: served.generation },
          "up to date with the tracked branch",
        );
      }
      return;
    }
    events.emit("detected", { branch: settings.branch, commit: tip, source: why });
    hooks.planning?.(tip);

    const head = await loadCommitInput(source.loadDir, tip, settings.branch, caches, settings.branch);
    lap("load");
    if (!head.evaluation.valid) return reject(tip, head.evaluation.diagnostics);
    warnIfSettingsMoved(head.load.config);

    const plan = computePlan(await publishedInput(), head.input);
    lap("plan");
    const summary = summaryLine(plan);
    events.emit("planned", { branch: settings.branch, commit: tip, summary, ...plan.summary });
    if (served.source !== null && !hasChanges(plan)) {
      // Same documents and config (e.g. a README commit): nothing to publish, generation kept.
      handled = tip;
      const data = {
        branch: settings.branch,
        commit: tip,
        published: served.source.commit,
        generation: served.generation,
      };
      log.info(data, "commit changes nothing; nothing published");
      events.emit("unchanged", data);
      hooks.published?.(tip, summary, new Map());
      return;
    }
    const snap: DesiredSnapshot = {
      generation: served.generation + 1,
      source: { branch: settings.branch, commit: tip, subject: head.subject },
      docs: carryUnchanged(served.docs, head.evaluation.desired),
      tokens: tokensOf(head.load.config),
      plan,
    };
    const parent = served.desiredCommit;
    const commit = await writeDesiredCommit(
      source.git,
      snap,
      parent ? { commit: parent, docs: served.docs } : null,
      publishMessage(snap.source, snap.generation, summary),
    );
    lap("write");
    const result = await source.publish(settings.desiredBranch, commit, parent);
    lap("publish");
    if (result === "rejected") {
      // Another reconciler published first: serve its generation, then look at the tip again
      // (re-read after adopting, so an older tip is never published over a newer one).
      races++;
      log.info(
        { branch: settings.desiredBranch, races },
        "desired branch moved (another publisher); adopting it",
      );
      await adopt("race");
      if (races >= maxRaces) {
        races = 0;
        throw new Error(`lost ${maxRaces} publish races in a row on ${settings.desiredBranch}`);
      }
      dirty = true;
      return;
    }
    races = 0;
    handled = tip;
    publishedConfig = head.load.config;
    const changed = served.replace(snap, commit);
    const latencyMs = Math.round((performance.now() - t0) * 100) / 100;
    const data = {
      branch: settings.branch,
      commit: tip,
      desiredCommit: commit,
      generation: snap.generation,
      summary,
      nodesChanged: changed.length,
      timings: lap.all(),
      latencyMs,
    };
    log.info(data, "published");
    events.emit("published", data);
    hooks.published?.(tip, summary, affectedBy(plan));
  }

  function reject(tip: string, diagnostics: Diagnostic[]): void {
    handled = tip;
    const lines = diagnostics.slice(0, maxReported).map((d) => `${d.file}:${d.line}:${d.col}: ${d.message}`);
    log.warn(
      { branch: settings.branch, commit: tip, errors: diagnostics.length, diagnostics: lines },
      "commit is invalid; nothing published, the last good state stays served",
    );
    events.emit("rejected", {
      branch: settings.branch,
      commit: tip,
      errors: diagnostics.length,
      diagnostics: diagnostics.slice(0, maxReported),
      generation: served.generation,
    });
    hooks.rejected?.(tip, diagnostics);
  }

  /** Serves the desired branch's tip (after fetching it in remote mode). */
  async function adopt(why: "startup" | "race"): Promise<void> {
    const tip =
      source.mode === "remote"
        ? await source.refresh(settings.desiredBranch)
        : await source.tip(settings.desiredBranch);
    if (tip === null || tip === served.desiredCommit) return;
    await serveDesiredCommit(tip, why);
  }

  async function serveDesiredCommit(tip: string, why: string): Promise<void> {
    const read = await readDesiredCommit(source.git, tip);
    for (const p of read.problems)
      log.warn({ branch: settings.desiredBranch, problem: p }, "desired branch file ignored");
    if (!read.snapshot) {
      throw new Error(
        `the tip of ${settings.desiredBranch} (${tip.slice(0, 7)}) was not written by berth: ${read.problems.join("; ")}; move the branch back to a berth commit or delete it`,
      );
    }
    served.replace(read.snapshot, tip);
    publishedConfig = undefined;
    handled = read.snapshot.source.commit;
    log.info(
      { why, generation: read.snapshot.generation, commit: read.snapshot.source.commit, desiredCommit: tip },
      "serving the desired branch's tip",
    );
  }

  async function publishedInput(): Promise<PlanInput | null> {
    const src = served.source;
    if (!src) return null;
    if (publishedConfig === undefined) {
      try {
        publishedConfig = (await loadCommit(source.loadDir, src.commit, { cache: caches.parse })).config;
      } catch (err) {
        // Resource changes are then shown against nothing; node changes stay exact.
        log.warn(
          { commit: src.commit, err: (err as Error).message },
          "cannot load the published commit's config",
        );
        publishedConfig = null;
      }
    }
    return {
      side: { ref: settings.desiredBranch, commit: src.commit, subject: src.subject },
      config: publishedConfig,
      desired: served.docs,
      diagnostics: [],
    };
  }

  let warnedSettings = false;
  function warnIfSettingsMoved(config: Config): void {
    const s = config.settings;
    const moved =
      s.branch !== settings.branch ||
      s.desiredBranch !== settings.desiredBranch ||
      s.statusBranch !== settings.statusBranch;
    if (!moved || warnedSettings) return;
    warnedSettings = true;
    const message = `berth.yaml now names branches ${s.branch}/${s.desiredBranch}/${s.statusBranch}; restart berth serve to use them (still using ${settings.branch}/${settings.desiredBranch}/${settings.statusBranch})`;
    log.warn({}, message);
    events.emit("error", { op: "settings", message });
  }

  async function discoverSettings(): Promise<void> {
    const candidate =
      opts.branch ?? (await source.defaultBranch().catch(() => null)) ?? defaultBranches.branch;
    const tipOf = async (b: string) => (source.mode === "remote" ? source.refresh(b) : source.tip(b));
    const tip = await tipOf(candidate);
    if (tip === null) {
      settings = { ...defaultBranches, branch: candidate };
      return;
    }
    settings = await settingsAt(source.loadDir, tip, caches);
    if (opts.branch !== undefined) {
      settings.branch = opts.branch;
      return;
    }
    if (settings.branch === candidate) return;
    // The tracked branch's own berth.yaml names the desired and status branches.
    const trackedTip = await tipOf(settings.branch);
    if (trackedTip !== null) {
      settings = { ...(await settingsAt(source.loadDir, trackedTip, caches)), branch: settings.branch };
    }
  }

  const backend: Reconciler = {
    async start() {
      if (started) return;
      started = true;
      try {
        await discoverSettings();
      } catch (err) {
        log.error(
          { err: (err as Error).message, repo: source.describe },
          "cannot read the branch settings; using defaults",
        );
        events.emit("error", { op: "settings", message: (err as Error).message });
      }
      status = new StatusBatcher({
        source,
        branch: settings.statusBranch,
        batchMs: opts.statusBatchMs ?? 2000,
        events,
        logger: log,
      });
      try {
        await adopt("startup");
        adoptFirst = false;
      } catch (err) {
        // Remote unreachable: serve what the cache has and retry in the loop.
        log.error({ err: (err as Error).message }, "cannot read the desired branch yet; will retry");
        if (source.mode === "remote") await adoptLocalCopy();
      }
      try {
        for (const [node, s] of await status.load()) {
          lastStatus.set(node, s);
          lastStatusKey.set(node, statusKey(s));
        }
      } catch (err) {
        log.error({ err: (err as Error).message }, "cannot read the status branch; statuses start empty");
      }
      log.info(
        { repo: source.describe, mode: source.mode, ...settings, generation: served.generation },
        "reconciler started",
      );
      await source.watch((why) => trigger({ source: why }));
      trigger({ source: "startup" });
    },
    async stop() {
      stopped = true;
      if (retryTimer) clearTimeout(retryTimer);
      // The run in progress finishes and queued statuses are written before the source (and
      // its HTTP connections, in remote mode) closes.
      if (running) await running;
      await status?.stop();
      await source.close();
      served.wakeEveryone();
    },
    async idle() {
      for (;;) {
        if (running) await running;
        await status?.idle();
        if (!running && !dirty) return;
      }
    },
    settings: () => ({ ...settings }),
    trackedBranch: () => settings.branch,
    published(): PublishedView {
      return {
        generation: served.generation,
        commit: served.source?.commit ?? null,
        desiredCommit: served.desiredCommit,
      };
    },
    desired: (node: string): DesiredState | undefined => served.docs.get(node),
    waitForChange: (node, etag, timeoutMs, signal) => served.waitForChange(node, etag, timeoutMs, signal),
    tokenSha256: (node: string) => served.tokens.get(node),
    seen(node, at) {
      lastSeen.set(node, at);
    },
    reportStatus(node: string, report: NodeStatus): void {
      lastSeen.set(node, Date.now());
      const key = statusKey(report);
      lastStatus.set(node, report);
      if (lastStatusKey.get(node) !== key) {
        lastStatusKey.set(node, key);
        events.emit("node-reported", {
          node,
          phase: report.phase,
          appliedCommit: report.appliedCommit,
          appliedHash: report.appliedHash,
        });
      }
      status?.add(node, report);
      hooks.nodeStatus?.(node, report);
    },
    nodes() {
      const names = new Set([...served.docs.keys(), ...served.tokens.keys(), ...lastStatus.keys()]);
      return [...names].sort().map((node) => ({
        node,
        lastSeen: lastSeen.get(node) ?? null,
        status: lastStatus.get(node) ?? null,
      }));
    },
    trigger,
    async plan(base, head): Promise<Plan> {
      const planCaches: Caches = { parse: new ParseCache({ keepLoads: 2 }), evaluator: new Evaluator() };
      const headRef = head ?? settings.branch;
      const headIn =
        headRef === "worktree" && source.mode === "local"
          ? await loadWorktreeInput(source.loadDir, settings.branch, planCaches)
          : await loadCommitInput(source.loadDir, headRef, settings.branch, planCaches);
      const baseIn =
        base === undefined
          ? await publishedInput()
          : (await loadCommitInput(source.loadDir, base, settings.branch, planCaches)).input;
      return computePlan(baseIn, headIn.input);
    },
  };

  /** Remote mode without network at start: serve the desired tip the cache kept from last time. */
  async function adoptLocalCopy(): Promise<void> {
    const tip = await source.tip(settings.desiredBranch);
    if (tip !== null) await serveDesiredCommit(tip, "cached copy").catch(() => {});
  }

  return backend;
}

/** Milliseconds spent per stage of one run (in the published event: where the latency goes). */
function stopwatch(t0: number): ((stage: string) => void) & { all(): Record<string, number> } {
  let last = t0;
  const stages: Record<string, number> = { wait: Math.round((performance.now() - t0) * 10) / 10 };
  last = performance.now();
  const lap = (stage: string) => {
    const now = performance.now();
    stages[stage] = Math.round((now - last) * 10) / 10;
    last = now;
  };
  return Object.assign(lap, { all: () => ({ ...stages }) });
}

function tokensOf(config: Config): Map<string, string> {
  const out = new Map<string, string>();
  for (const { spec } of config.nodes) if (spec.tokenSha256) out.set(spec.name, spec.tokenSha256);
  return out;
}

function affectedBy(plan: Plan): Map<string, string> {
  const out = new Map<string, string>();
  for (const n of plan.nodes) if (n.hashAfter) out.set(n.node, n.hashAfter);
  return out;
}
