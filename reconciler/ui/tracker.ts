// What the operations page remembers beyond the reconciler's state, learnt from its event stream:
// the newest commit of the tracked branch and what became of it, each instance's operation
// transitions as agents report them (the app page's operation history), and which generation last
// changed each app (read from the plans on the desired branch). In memory, bounded; rebuilt after
// a restart from the buffered events and the desired branch.
import type { DeployInput, GenerationInput, OperationRecord, TipInput } from "../../core/views/ops/index.js";
import type { ApiBackend, BerthEvent, HistoryBackend } from "../contracts.js";
import type { EventBus } from "../events.js";

/** Operation transitions kept in total (the app page shows the newest 100 of its app). */
const MAX_OPERATIONS = 5000;
/** Generations scanned for "last deploy" of each app. */
const DEPLOY_SCAN = 50;

type Backend = ApiBackend & Partial<HistoryBackend>;

export class OpsTracker {
  tip: TipInput | null = null;
  readonly operations: OperationRecord[] = [];
  /** app → the newest generation (of the last DEPLOY_SCAN) whose plan changed it. */
  deploys = new Map<string, DeployInput>();
  /** The newest generations read (newest first), for the app pages' plan entries. */
  recent: GenerationInput[] = [];
  private readonly lastOps = new Map<string, string>();
  private scanned = -1;
  private scanning: Promise<void> | null = null;
  private readonly unsubscribe: () => void;

  constructor(
    events: EventBus,
    private readonly backend: Backend,
  ) {
    for (const e of events.since(undefined).events) this.onEvent(e);
    this.unsubscribe = events.subscribe((e) => this.onEvent(e));
  }

  close(): void {
    this.unsubscribe();
  }

  /** Reads the generations published since the last scan (once at a time); never throws. */
  refreshDeploys(): Promise<void> {
    const current = this.backend.published().generation;
    if (current === this.scanned || !this.backend.readGenerations) return Promise.resolve();
    this.scanning ??= this.scan(current).finally(() => {
      this.scanning = null;
    });
    return this.scanning;
  }

  private async scan(current: number): Promise<void> {
    try {
      const gens = (await this.backend.readGenerations?.({ limit: DEPLOY_SCAN })) ?? [];
      const deploys = new Map<string, DeployInput>();
      // Oldest first, so newer generations overwrite.
      for (const g of [...gens].reverse()) {
        if (!g.plan?.valid) continue;
        const d: DeployInput = { generation: g.generation, at: g.at, commit: g.source?.commit ?? "" };
        for (const r of g.plan.resources) if (r.kind === "App") deploys.set(r.name, d);
        for (const n of g.plan.nodes) for (const w of n.workloads) deploys.set(w.app, d);
      }
      this.deploys = deploys;
      this.recent = gens;
      this.scanned = current;
    } catch {
      // The page shows "not in recent history"; the next request tries again.
    }
  }

  private onEvent(e: BerthEvent): void {
    const d = e.data;
    const commit = typeof d.commit === "string" ? d.commit : null;
    switch (e.type) {
      case "detected":
        if (commit) this.tip = { commit, state: "pending", at: e.time };
        break;
      case "published":
      case "unchanged":
        if (commit) this.tip = { commit, state: e.type, at: e.time };
        break;
      case "rejected":
        if (commit) {
          this.tip = {
            commit,
            state: "rejected",
            at: e.time,
            errors: typeof d.errors === "number" ? d.errors : 0,
            diagnostics: Array.isArray(d.diagnostics) ? (d.diagnostics as TipInput["diagnostics"]) : [],
          };
        }
        break;
      case "node-reported":
        if (typeof d.node === "string") this.recordOperations(d.node, e.time);
        break;
    }
  }

  /** Appends the operations of `node` that changed since its previous report. */
  private recordOperations(node: string, at: string): void {
    const entry = this.backend.nodes().find((n) => n.node === node);
    for (const w of entry?.status?.workloads ?? []) {
      const op = w.operation;
      if (!op) continue;
      const key = `${node}/${w.id}`;
      const sig = `${op.status}|${op.step}|${op.attempt}|${op.lastError ?? ""}`;
      if (this.lastOps.get(key) === sig) continue;
      this.lastOps.set(key, sig);
      this.operations.push({
        at,
        node,
        app: w.app,
        instance: w.id,
        status: op.status,
        step: op.step,
        attempt: op.attempt,
        error: op.lastError,
      });
    }
    if (this.operations.length > MAX_OPERATIONS)
      this.operations.splice(0, this.operations.length - MAX_OPERATIONS);
  }
}
