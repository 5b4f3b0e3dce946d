// What the loop's parts share: injected dependencies and the agent's mutable in-memory state, plus
// the small helpers that read both (observe, current status). No decisions are made here.
import type pino from "pino";
import type { DesiredState, NodeStatus, Workload } from "../../schema/index.js";
import { type Action, type ObservedInstance, workloadKey } from "../core/actions.js";
import type { HealthPlace, Reach } from "../core/address.js";
import type { BackoffBook } from "../core/backoff.js";
import { type CrashBook, recordExit } from "../core/crash-loop.js";
import { type DriftRecord, driftReport, noDrift } from "../core/drift.js";
import type { AgentEvent } from "../core/events.js";
import type { HealthRecord } from "../core/health-track.js";
import { observedFingerprint } from "../core/observed.js";
import { type Health, type PlanResult, planActions } from "../core/planner.js";
import { nextRestart, type RestartJob, restartStates } from "../core/restart.js";
import { buildStatus, type Problem, type StatusInput } from "../core/status.js";
import type { RestartReporter } from "../restart/reporter.js";
import type { SecretResolver } from "../secrets/resolver.js";
import type { DriverSet } from "./drivers.js";
import type { Outcome } from "./executor.js";
import { probeHealth } from "./health-monitor.js";
import type { Ingress } from "./ingress.js";
import type { AppliedRecord, StateWriter } from "./state-dir.js";
import type { StatusReporter } from "./status-reporter.js";

export interface LoopDeps {
  node: string;
  agentVersion: string;
  stateDir: string;
  /** Writes desired.json / applied.json in the background, in order. */
  store: StateWriter;
  drivers: DriverSet;
  /**
   * Decrypts workloads' secrets (loads nothing until asked). Output of a workload shown anywhere
   * is redacted with agent/secrets/sensitive.ts sensitiveValues(w, secrets).
   */
  secrets: SecretResolver;
  ingress: Ingress | null;
  /** Runs an action; `signal` aborts it when a newer document no longer wants its target. */
  execute: (a: Action, signal: AbortSignal) => Promise<Outcome>;
  /** The last output lines of an instance, sanitised and redacted for its workload. */
  excerpt: (i: ObservedInstance, w: Workload) => Promise<string[]>;
  reporter: StatusReporter;
  logger: pino.Logger;
  emit: (e: AgentEvent) => void;
  /** Where instances of this runtime are health-checked (the node's address), or why not. */
  healthPlace: (runtime: ObservedInstance["runtime"]) => HealthPlace;
  /** Where the document's address leads on this host (resolves names, lists interfaces). */
  findReach: (doc: DesiredState) => Promise<Reach>;
  now: () => number;
  random: () => number;
  /** Tells the reconciler (and the journal) how restarts asked with `berth restart` go. */
  restarts?: RestartReporter;
}

export interface LoopState {
  /** The document the agent works towards. */
  doc: DesiredState | null;
  /** Hash of the newest document received, accepted or not. */
  desiredHash: string | null;
  applied: AppliedRecord | null;
  /** Specs of the current and previous documents by specHash, to say what a replace changes. */
  knownSpecs: Map<string, Workload>;
  backoff: BackoffBook;
  /** Exits per spec (restart counts, last exit, crash-loop streak): survive recreated instances. */
  crashes: CrashBook;
  /** The config commit of the first document in which the agent saw each spec, by specHash. */
  specCommits: Map<string, string>;
  /** Instances replaced start-first that drain until a time (ms epoch), by instance name. */
  retiring: Map<string, number>;
  health: Map<string, HealthRecord>;
  /** Where this node's workloads are reached (from the document's upstreamAddress). */
  reach: Reach;
  /** Problems outside workloads, by slot ("document", "reconciler", "runtime", "ingress", "state", "address"). */
  problems: Map<string, Problem>;
  /** The action a pass runs now (one at a time, in SPEC §6 order). */
  running: Running | null;
  /** Restarts of exited instances run by the restart lane beside it, by workload id. */
  restarting: Map<string, Running>;
  /** Work is left that is not waiting on backoff. */
  pending: boolean;
  instances: ObservedInstance[];
  ingressRunning: string | null;
  ingressError: string | null;
  /** Observed-state fingerprint after the last pass (drift = it changed). */
  fingerprint: string | null;
  /** Hash of the document the last finished pass worked on. */
  lastPassHash: string | null;
  /** Restarts asked with `berth restart`: those under way and the last outcome per app. */
  restarts: RestartJob[];
  /** Drift found on a converged node and repaired since the agent started. */
  drift: DriftRecord;
}

/** An action under way, as status shows it, with the switch that abandons it. */
export type Running = NonNullable<StatusInput["running"]> & { key: string; abort: AbortController };

export interface LoopContext {
  deps: LoopDeps;
  state: LoopState;
}

export function initialState(): LoopState {
  return {
    doc: null,
    desiredHash: null,
    applied: null,
    knownSpecs: new Map(),
    backoff: new Map(),
    crashes: new Map(),
    specCommits: new Map(),
    retiring: new Map(),
    health: new Map(),
    reach: { kind: "none", host: "127.0.0.1" },
    problems: new Map(),
    running: null,
    restarting: new Map(),
    pending: false,
    instances: [],
    ingressRunning: null,
    ingressError: null,
    fingerprint: null,
    lastPassHash: null,
    restarts: [],
    drift: noDrift,
  };
}

/**
 * Reads instances and the running Caddy config hash into the state, and counts every exit not seen
 * before (with the instance's last output lines). Throws when the runtime cannot list.
 * `opts.busy`: workloads with an action under way (the restart lane looks while a pass waits).
 * What the state says of them is left as it was until that action's outcome is folded in: their
 * instances are in between (a new one starting, an old one being stopped), and an exit of theirs is
 * counted by that outcome, after its start (counted here first, it would be measured from the
 * previous start). `opts.instancesOnly`: leave Caddy alone.
 */
export async function observe(
  ctx: LoopContext,
  opts: { busy?: ReadonlySet<string>; instancesOnly?: boolean } = {},
): Promise<void> {
  const { deps, state } = ctx;
  const listed = await deps.drivers.list();
  const busy = opts.busy;
  state.instances = busy
    ? [
        ...listed.filter((i) => !busy.has(i.workloadId)),
        ...state.instances.filter((i) => busy.has(i.workloadId)),
      ]
    : listed;
  state.problems.delete("runtime");
  await recordExits(ctx, opts.busy);
  if (deps.ingress && !opts.instancesOnly) {
    try {
      state.ingressRunning = await deps.ingress.runningHash();
      state.problems.delete("ingress");
    } catch (e) {
      state.ingressRunning = null;
      state.problems.set("ingress", { code: "ingress-unreachable", message: (e as Error).message });
    }
  }
}

/** Counts exits of instances of desired workloads that no observation has counted yet. */
async function recordExits(ctx: LoopContext, busy?: ReadonlySet<string>): Promise<void> {
  const { deps, state } = ctx;
  const doc = state.doc;
  if (!doc) return;
  const wanted = new Map(doc.workloads.map((w) => [w.id, w]));
  let changed = false;
  for (const i of state.instances) {
    const w = wanted.get(i.workloadId);
    if (i.state !== "exited" || !i.exit || !w || busy?.has(i.workloadId)) continue;
    const key = workloadKey(i.workloadId, i.specHash);
    if (state.crashes.get(key)?.lastExitRef === i.ref) continue;
    const spec = state.knownSpecs.get(i.specHash) ?? w;
    const output = await deps.excerpt(i, spec).catch(() => []);
    state.crashes = recordExit(
      state.crashes,
      { key, workloadId: i.workloadId, ref: i.ref, exit: { ...i.exit, output } },
      deps.random(),
    );
    changed = true;
    deps.logger.warn(
      { workload: i.workloadId, instance: i.name, code: i.exit.code, signal: i.exit.signal },
      `${i.name} ${i.lastError ?? "exited"}`,
    );
  }
  if (changed) saveMemory(ctx);
}

/** Persists what must survive an agent restart besides the document: crash records and spec commits. */
export function saveMemory(ctx: LoopContext): void {
  ctx.deps.store.saveMemory({
    crashes: [...ctx.state.crashes.values()],
    specCommits: Object.fromEntries(ctx.state.specCommits),
  });
}

export const fingerprint = (state: LoopState): string =>
  observedFingerprint({ instances: state.instances, ingressHash: state.ingressRunning });

/** Health checks of the observed instances (all, or only those whose health is unknown). */
export async function refreshHealth(ctx: LoopContext, onlyUnknown: boolean): Promise<void> {
  const { state, deps } = ctx;
  const specs = new Map((state.doc?.workloads ?? []).map((w) => [w.id, w]));
  state.health = await probeHealth({
    instances: state.instances,
    specs,
    previous: state.health,
    place: deps.healthPlace,
    onlyUnknown,
  });
}

export const healthMap = (state: LoopState): Map<string, Health> =>
  new Map([...state.health].map(([ref, r]) => [ref, r.health]));

/** The planner's actions for what was observed last, against the current document. */
export function plan(ctx: LoopContext): PlanResult {
  const { state, deps } = ctx;
  const ing = desiredIngress(ctx);
  const planned = planActions({
    desired: state.doc as NonNullable<typeof state.doc>,
    instances: state.instances,
    health: healthMap(state),
    knownSpecs: state.knownSpecs,
    backoff: state.backoff,
    crashes: state.crashes,
    retiring: state.retiring,
    now: deps.now(),
    ingress:
      ing && state.doc
        ? { ...ing, routeCount: state.doc.routes.length, runningHash: state.ingressRunning }
        : null,
  });
  // A restart asked with `berth restart` takes its next step once nothing else is to be done to
  // that workload (the restart lane never runs it: its kind is not the lane's).
  const restart = nextRestart({
    jobs: state.restarts,
    desired: state.doc as NonNullable<typeof state.doc>,
    instances: state.instances,
    health: healthMap(state),
    planned: [...planned.actions, ...planned.deferred.map((d) => d.action)],
  });
  if (restart) planned.actions.push(restart);
  return planned;
}

/** Desired ingress config hash of the current document (cached per document). */
const ingressCache = new WeakMap<DesiredState, { config: object; hash: string }>();
export function desiredIngress(ctx: LoopContext): { config: object; hash: string } | null {
  const { doc } = ctx.state;
  if (!ctx.deps.ingress || !doc) return null;
  let built = ingressCache.get(doc);
  if (!built) {
    built = ctx.deps.ingress.build(doc.routes);
    ingressCache.set(doc, built);
  }
  return built;
}

export function currentStatus(ctx: LoopContext, over: Partial<StatusInput> = {}): NodeStatus {
  const { state, deps } = ctx;
  const ing = desiredIngress(ctx);
  const problems = [...state.problems.values()];
  if (!deps.ingress && (state.doc?.routes.length ?? 0) > 0) {
    problems.push({
      code: "ingress-disabled",
      message: `the desired document has ${state.doc?.routes.length} routes but this agent manages no Caddy (start it with --caddy-admin)`,
    });
  }
  const status = buildStatus({
    node: deps.node,
    agentVersion: deps.agentVersion,
    desiredHash: state.desiredHash,
    applied: state.applied,
    doc: state.doc,
    instances: state.instances,
    health: healthMap(state),
    backoff: state.backoff,
    crashes: state.crashes,
    specCommits: state.specCommits,
    running: state.running,
    restarting: [...state.restarting.values()],
    // An old instance draining after a start-first replace still answers: not applied yet.
    pending: state.pending || state.retiring.size > 0,
    ingress: ing
      ? { hash: ing.hash, applied: state.ingressRunning === ing.hash, lastError: state.ingressError }
      : null,
    problems,
    drift: driftReport(state.drift),
    now: deps.now(),
    ...over,
  });
  if (state.restarts.length > 0) status.restarts = restartStates(state.restarts);
  return status;
}

/** Records where the document's address leads, and the node problem when it names another host. */
export function setReach(ctx: LoopContext, reach: Reach): void {
  ctx.state.reach = reach;
  if (reach.kind === "not-local")
    ctx.state.problems.set("address", { code: "address-not-local", message: reach.message });
  else ctx.state.problems.delete("address");
}
