import { ParseCache } from "../core/config/index.js";
import type { Config, SettingsSpec } from "../core/config/model.js";
import { Evaluator } from "../core/evaluate.js";
import { type HandoffNote, servedNotes } from "../core/handoff/index.js";
import { hasChanges, type PlanInput } from "../core/plan/index.js";
import { newFailures } from "../core/status/failures.js";
import { defaultLivenessBounds, type LivenessBounds } from "../core/status/liveness.js";
import type { Diagnostic, Plan } from "../schema/index.js";
import type { BranchRole, ReconcileOutcome, RejectedView, TriggerRequest } from "./contracts.js";
import { webUrlFor } from "./forge/client.js";
import { nextGeneration } from "./generation-step.js";
import { HealthWatch } from "./health/watch.js";
import { announcer } from "./liveness/announce.js";
import { ContactBook } from "./liveness/contacts.js";
import { lostNodes } from "./liveness/lost.js";
import { LivenessWatch } from "./liveness/watch.js";
import type { Reconciler, ReconcilerOptions } from "./reconciler-api.js";
import { loadCommit } from "./repo/load.js";
import { Coalescer, stageTimer, type TriggerSource } from "./source/coalescer.js";
import {
  type BranchSettings,
  type Caches,
  defaultBranches,
  discoverBranches,
  loadCommitInput,
} from "./source/config-input.js";
import { observeSource } from "./source/observed.js";
import { openConfigSource } from "./source/open.js";
import { planBetween } from "./source/plan-between.js";
import { catchUpper } from "./store/catch-up.js";
import { affectedBy } from "./store/desired-layout.js";
import { readDesiredCommit, writeDesiredCommit } from "./store/desired-store.js";
import { GenerationReader } from "./store/history.js";
import { NodeBook } from "./store/node-book.js";
import { ServedState } from "./store/served.js";
import { StatusBatcher } from "./store/status-batcher.js";

export type { Reconciler, ReconcilerHooks, ReconcilerOptions } from "./reconciler-api.js";

/** Diagnostics put in one `rejected` event or log line; the rest are counted. */
const maxReported = 50;
/** Lost publish races in a row before backing off: someone keeps moving the desired branch. */
const maxRaces = 10;

export async function createReconciler(opts: ReconcilerOptions): Promise<Reconciler> {
  const log = opts.logger;
  const events = opts.events;
  const hooks = opts.hooks ?? {};
  const rawSource = await openConfigSource(opts, log);
  let settings: BranchSettings = { ...defaultBranches, branch: opts.branch ?? defaultBranches.branch };
  const observers = opts.observers ?? [];
  const roleOf = (branch: string): BranchRole => {
    if (branch === settings.branch) return "tracked";
    if (branch === settings.desiredBranch) return "desired";
    if (branch === settings.statusBranch) return "status";
    return opts.extraRoles?.(settings)[branch] ?? "other";
  };
  const source = observers.length > 0 ? observeSource(rawSource, roleOf, observers) : rawSource;
  /** How the run in progress ends (set on each return path of reconcileOnce). */
  let outcome: ReconcileOutcome = "up_to_date";
  const caches: Caches = { parse: new ParseCache({ keepLoads: 2 }), evaluator: new Evaluator() };
  const served = new ServedState();
  const book = new NodeBook();
  const history = new GenerationReader(source.git);
  let status: StatusBatcher | undefined;
  const bounds: LivenessBounds = { ...defaultLivenessBounds, ...opts.liveness };
  const contacts = new ContactBook();
  const knownNodes = () => new Set([...served.docs.keys(), ...served.tokens.keys()]);
  const liveness = new LivenessWatch({
    bounds,
    contacts,
    nodes: knownNodes,
    announce: announcer({
      events,
      log,
      commit: (record) => status?.addLiveness(record),
      also: (change) => {
        hooks.nodeLiveness?.(change);
        // A lost node is not waited for by handoffs (and a node back is again); with failover on,
        // a node lost or back changes placement.
        if (change.kind !== "record" && (served.handoffs.length > 0 || failoverOn)) {
          factsDirty = true;
          loop.trigger({ source: "facts" });
        }
      },
    }),
  });

  /** Config of the published source commit, for the resource part of plans (loaded lazily). */
  let publishedConfig: Config | null | undefined;
  /** Newest tip already handled (published, unchanged or rejected): the same tip is not redone. */
  let handled: string | null = null;
  /** The tip when it is invalid: shown by /healthz, /v1/nodes and `berth status` until a valid tip. */
  let lastRejected: RejectedView | null = null;
  /** Remote mode: the desired branch is (re)fetched before the tracked one (see docs). */
  let adoptFirst = source.mode === "remote";
  let warnedEmpty = false;
  let warnedSettings = false;
  let races = 0;
  let started = false;
  /** A report changed while handoffs are pending: the next run plans the published commit again. */
  let factsDirty = false;
  /** Notes of the last run about the served generation's handoffs (status shows what they wait for). */
  let pendingNotes: HandoffNote[] = [];
  /** berth.yaml of the last planned commit turns failover on: liveness changes matter then. */
  let failoverOn = false;
  /** Why failover could not place a lost node's replicas (said once per reason). */
  let failoverBlocked: string | null = null;
  /** Places the commit again with failed-over nodes cordoned; apart from the loop's warm evaluator. */
  const failoverEvaluator = new Evaluator();
  /** Lost nodes, and the timer that plans again when a failover grace period ends. */
  const lost = lostNodes({
    liveness,
    nodes: knownNodes,
    due: () => {
      factsDirty = true;
      loop.trigger({ source: "facts" });
    },
  });
  /** Remote mode: when the desired branch was last fetched successfully (ms epoch). */
  let desiredFetchedAt = 0;

  const degradedAfterMs = opts.degradedAfterMs ?? 60_000;
  const healthWatch = new HealthWatch({ degradedAfterMs, trackedBranch: () => settings.branch, log, events });
  const health = healthWatch.tracker;

  const loop = new Coalescer({
    async run(t0, why) {
      const started = performance.now();
      outcome = "up_to_date";
      try {
        await reconcileOnce(t0, why);
      } catch (err) {
        outcome = "failed";
        throw err;
      } finally {
        const seconds = (performance.now() - started) / 1000;
        for (const o of observers) o.reconciled(outcome, seconds);
      }
    },
    failed(err, failures, retryInMs) {
      const message = (err as Error)?.message ?? String(err);
      log.error({ err: message, failures, retryInMs }, "reconcile failed; will retry");
      events.emit("reconciler-error", { op: "reconcile", message });
      health.publishFailed(message, Date.now());
    },
    succeeded() {
      health.publishSucceeded();
    },
  });

  function setHandled(tip: string | null): void {
    handled = tip;
    health.handled(tip, Date.now());
  }

  async function reconcileOnce(t0: number, why: TriggerSource): Promise<void> {
    if (adoptFirst) {
      await adopt("startup");
      adoptFirst = false;
    }
    const lap = stageTimer(t0);
    const tip = await source.refresh(settings.branch);
    lap("refresh");
    if (tip !== null) health.tipSeen(tip, Date.now());
    if (tip === null) {
      if (!warnedEmpty)
        log.warn({ branch: settings.branch, repo: source.describe }, "tracked branch has no commits yet");
      warnedEmpty = true;
      return;
    }
    // Same tip: only facts a pending handoff waits for (agents' reports) can change anything,
    // and then the published source commit is planned again with them.
    const factsRun = tip === handled;
    if (factsRun && (!factsDirty || served.source === null)) {
      if (why === "startup") {
        const data = { branch: settings.branch, commit: tip, generation: served.generation };
        log.info(data, "up to date with the tracked branch");
      }
      return;
    }
    factsDirty = false;
    const commit = factsRun ? (served.source?.commit as string) : tip;
    if (!factsRun) {
      events.emit("detected", { branch: settings.branch, commit: tip, source: why });
      hooks.planning?.(tip);
    }

    const head = await loadCommitInput(source.loadDir, commit, settings.branch, caches, settings.branch);
    lap("load");
    if (!head.evaluation.valid) {
      if (factsRun) return;
      outcome = "rejected";
      return reject(tip, head.evaluation.diagnostics);
    }
    warnIfSettingsMoved(head.load.config);
    tellConfig(head.load.config.settings);

    // With failover on, nodes lost past the grace period are placed around; old copies stay while
    // moves and drains finish (core/handoff). The documents depend on the commit and on these
    // facts, which the plan's failover and handoff notes state.
    const next = nextGeneration({
      head,
      branch: settings.branch,
      tip,
      commit,
      factsRun,
      served,
      statuses: book.list(served.docs.keys()).map((e) => [e.node, e.status] as const),
      lost: lost.since(),
      published: await publishedInput(),
      failoverEvaluator,
      now: Date.now(),
    });
    const { failover: fo, plan, summary, snapshot: snap } = next;
    failoverOn = fo.settings !== null;
    lost.schedule(fo.nextAt);
    if (fo.blocked !== null && fo.blocked !== failoverBlocked) {
      log.warn({ commit }, fo.blocked);
      events.emit("reconciler-error", { op: "failover", message: fo.blocked });
    }
    failoverBlocked = fo.blocked;
    lap("plan");
    if (factsRun && !hasChanges(plan)) {
      // Nothing to publish, but what the served handoffs wait for may read differently now.
      pendingNotes = next.notes;
      return;
    }
    events.emit("planned", { branch: settings.branch, commit, summary, ...plan.summary });
    if (served.source !== null && !hasChanges(plan)) {
      // Same documents and config (e.g. a README commit): nothing to publish, generation kept.
      setHandled(tip);
      lastRejected = null;
      const data = {
        branch: settings.branch,
        commit: tip,
        published: served.source.commit,
        generation: served.generation,
      };
      outcome = "unchanged";
      log.info(data, "commit changes nothing; nothing published");
      events.emit("unchanged", data);
      hooks.published?.(tip, summary, new Map());
      return;
    }
    const parent = served.desiredCommit;
    const writeStarted = performance.now();
    const desiredCommit = await writeDesiredCommit(
      source.git,
      snap,
      parent ? { commit: parent, docs: served.docs } : null,
      next.message,
    );
    lap("write");
    const result = await source.publish(settings.desiredBranch, desiredCommit, parent);
    lap("publish");
    if (result === "rejected") return lostRace();
    outcome = "published";
    for (const o of observers) o.published((performance.now() - writeStarted) / 1000);
    races = 0;
    setHandled(tip);
    lastRejected = null;
    publishedConfig = head.load.config;
    const changed = served.replace(snap, desiredCommit);
    pendingNotes = next.notes;
    const data = {
      branch: settings.branch,
      commit,
      desiredCommit,
      generation: snap.generation,
      summary,
      nodesChanged: changed.length,
      timings: lap.all(),
      latencyMs: Math.round((performance.now() - t0) * 100) / 100,
    };
    log.info(data, "published");
    events.emit("published", data);
    for (const n of next.notes) events.emit("handoff", { ...n, generation: snap.generation });
    hooks.published?.(commit, summary, affectedBy(plan));
  }

  /** Another publisher moved the desired branch first: serve its generation, then run again. */
  async function lostRace(): Promise<void> {
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
    // The next run fetches the tracked branch again (after the desired one), so the tip it
    // publishes is never older than the source of the generation just adopted.
    loop.again();
  }

  function reject(tip: string, diagnostics: Diagnostic[]): void {
    setHandled(tip);
    lastRejected = {
      commit: tip,
      at: new Date().toISOString(),
      errors: diagnostics.length,
      diagnostics: diagnostics.slice(0, 20),
    };
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
  async function adopt(why: string): Promise<void> {
    const tip =
      source.mode === "remote"
        ? await source.refresh(settings.desiredBranch)
        : await source.tip(settings.desiredBranch);
    desiredFetchedAt = Date.now();
    if (tip !== null && tip !== served.desiredCommit) await serveDesiredCommit(tip, why);
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
    setHandled(read.snapshot.source.commit);
    const { generation, source: src } = read.snapshot;
    log.info({ why, generation, commit: src.commit, desiredCommit: tip }, "serving the desired branch's tip");
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
      failedOver: served.failover.map((f) => f.node),
    };
  }

  function tellConfig(s: Pick<SettingsSpec, "alerts" | "publicUrl">): void {
    try {
      opts.onConfig?.({
        ...(s.alerts ? { alerts: s.alerts } : {}),
        ...(s.publicUrl ? { publicUrl: s.publicUrl } : {}),
      });
    } catch (err) {
      log.error({ err: (err as Error).message }, "applying the settings failed (this is a bug)");
    }
  }

  function warnIfSettingsMoved(config: Config): void {
    const s = config.settings;
    const now = `${s.branch}/${s.desiredBranch}/${s.statusBranch}`;
    const used = `${settings.branch}/${settings.desiredBranch}/${settings.statusBranch}`;
    if (now === used || warnedSettings) return;
    warnedSettings = true;
    const message = `berth.yaml now names branches ${now}; restart berth serve to use them (still using ${used})`;
    log.warn({}, message);
    events.emit("reconciler-error", { op: "settings", message });
  }

  async function start(): Promise<void> {
    if (started) return;
    started = true;
    try {
      settings = await discoverBranches(source, caches, opts.branch);
    } catch (err) {
      log.error(
        { err: (err as Error).message, repo: source.describe },
        "cannot read the branch settings; using defaults",
      );
      events.emit("reconciler-error", { op: "settings", message: (err as Error).message });
    }
    await opts.onSettings?.({ ...settings });
    tellConfig(settings);
    status = new StatusBatcher({
      source,
      branch: settings.statusBranch,
      batchMs: opts.statusBatchMs ?? 2000,
      events,
      logger: log,
      onWrite(err) {
        if (err) health.statusWriteFailed(err.message, Date.now());
        else health.statusWriteSucceeded();
      },
    });
    try {
      await adopt("startup");
      adoptFirst = false;
    } catch (err) {
      // Remote unreachable: serve the copy the cache kept, and retry in the loop.
      log.error({ err: (err as Error).message }, "cannot read the desired branch yet; will retry");
      const cached = await source.tip(settings.desiredBranch);
      if (source.mode === "remote" && cached !== null)
        await serveDesiredCommit(cached, "cached copy").catch(() => {});
    }
    try {
      const committed = await status.load();
      book.seed(committed.statuses);
      liveness.seed(committed.liveness);
    } catch (err) {
      const message = `cannot read the status branch at start: ${(err as Error).message}`;
      log.error({ err: (err as Error).message }, "cannot read the status branch; statuses start empty");
      // Until a status write succeeds, this counts as status writing failing.
      health.statusWriteFailed(message, Date.now());
    }
    liveness.start();
    const { forge: _forge, ...branches } = settings;
    log.info(
      { repo: source.describe, mode: source.mode, ...branches, generation: served.generation },
      "reconciler started",
    );
    loop.enable();
    healthWatch.start();
    await source.watch((why) => loop.trigger({ source: why }));
    loop.trigger({ source: "startup" });
  }

  return {
    start,
    async stop() {
      lost.stop();
      // The run in progress finishes and queued statuses are written before the source (and
      // its HTTP connections, in remote mode) closes.
      healthWatch.stop();
      liveness.stop();
      await loop.stop();
      await status?.stop();
      await source.close();
      served.wakeEveryone();
    },
    async idle() {
      await loop.idle();
      await status?.idle();
      await loop.idle();
    },
    settings: () => ({ ...settings }),
    branches: () => source,
    trackedBranch: () => settings.branch,
    published: () => ({
      generation: served.generation,
      commit: served.source?.commit ?? null,
      desiredCommit: served.desiredCommit,
      rejected: lastRejected,
      ...(served.handoffs.length > 0 ? { handoffs: servedNotes(served.handoffs, pendingNotes) } : {}),
      ...(served.failover.length > 0 ? { failover: [...served.failover] } : {}),
      ...(failoverBlocked ? { failoverBlocked } : {}),
    }),
    desired: (node) => served.docs.get(node),
    waitForChange: (node, etag, timeoutMs, signal) => served.waitForChange(node, etag, timeoutMs, signal),
    tokenSha256: (node) => served.tokens.get(node),
    contacts,
    livenessBounds: () => ({ ...bounds }),
    reportStatus(node, report) {
      const before = book.statusOf(node);
      // A report is contact too (the HTTP layer has touched already; in-process callers have not).
      contacts.touch(node, Date.now());
      const changed = book.report(node, report);
      if (changed) {
        const { phase, appliedCommit, appliedHash, desiredHash } = report;
        events.emit("node-reported", { node, phase, appliedCommit, appliedHash, desiredHash });
        // Each new cause of a failing workload once, with its last output lines.
        for (const f of newFailures(before, report)) events.emit("workload-failed", { ...f });
      }
      status?.add(node, report);
      hooks.nodeStatus?.(node, report);
      // A pending handoff waits for some agent's report (a target healthy, a proxy's routes).
      if (served.handoffs.length > 0 && changed) {
        factsDirty = true;
        loop.trigger({ source: "facts" });
      }
    },
    nodes: () => {
      const now = Date.now();
      return book.list(knownNodes()).map((n) => {
        const v = liveness.view(n.node, now);
        return { ...n, lastSeen: v.lastSeen, liveness: v };
      });
    },
    trigger(req: TriggerRequest) {
      // A verified webhook says where the branch is now: if fetching then fails for good, the
      // stall still shows as the branch being ahead of what is published.
      if (req.after && /^[0-9a-f]{40}$/.test(req.after) && !/^0+$/.test(req.after))
        health.tipSeen(req.after, Date.now());
      loop.trigger(req);
    },
    health: healthWatch.check,
    catchUp: catchUpper({
      served,
      remote: source.mode === "remote",
      refresh() {
        adoptFirst = true;
        loop.trigger({ source: "poll" });
      },
      idle: () => loop.idle(),
      fetchedAt: () => desiredFetchedAt,
      log,
    }),
    readGenerations: (opts) => history.list(served.desiredCommit, opts),
    readGeneration: (n) => history.find(served.desiredCommit, n),
    forgeWeb() {
      const forge = settings.forge;
      if (!forge) return null;
      try {
        return { kind: forge.kind, webUrl: webUrlFor(forge) };
      } catch {
        // Gitea without apiUrl or webUrl: no address to link to.
        return null;
      }
    },
    plan: (base, head): Promise<Plan> => planBetween(source, settings.branch, publishedInput, base, head),
  };
}
