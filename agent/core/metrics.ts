// What the agent's /metrics says, built from its events (actions, passes, documents, drift) and
// its current status at scrape time: node info, phase and sync, instances by app/state/health,
// actions by kind and outcome, apply and action durations as histograms, last contact with the
// reconciler, and the process' own CPU, memory and start time under the standard process_*
// names. Pure: the shell passes in the clock readings and process figures. See docs/api.md.
import type { NodeStatus } from "../../schema/index.js";
import type { AgentEvent } from "./events.js";
import { type Family, type HistogramFamily, HistogramState, render } from "./exposition.js";

const durationBuckets = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const phases = ["converged", "applying", "degraded", "failed"] as const;

export interface ProcessFigures {
  cpuSeconds: number;
  residentBytes: number;
  heapBytes: number;
  startTimeSeconds: number;
}

export class AgentMetrics {
  private readonly actions = new Map<string, number>();
  private readonly actionDurations = new Map<string, HistogramState>();
  private readonly apply = new HistogramState(durationBuckets);
  private readonly passes = new Map<string, number>();
  private readonly documents = new Map<string, number>();
  private drift = 0;
  private unreachable = 0;
  private passStartedAt: number | null = null;
  private lastContact: number | null = null;

  constructor(
    private readonly node: string,
    private readonly version: string,
  ) {}

  /** Feeds one agent event; `now` is the clock reading in ms (for apply durations). */
  observe(e: AgentEvent, now: number): void {
    switch (e.type) {
      case "pass-started":
        this.passStartedAt = now;
        bump(this.passes, e.trigger);
        return;
      case "pass-finished":
        if (this.passStartedAt !== null) this.apply.observe((now - this.passStartedAt) / 1000);
        this.passStartedAt = null;
        return;
      case "action-succeeded":
      case "action-failed": {
        const outcome = e.type === "action-succeeded" ? "succeeded" : "failed";
        bump(this.actions, `${e.kind}\u0000${outcome}`);
        if (e.ms !== undefined) {
          const h = this.actionDurations.get(e.kind) ?? new HistogramState(durationBuckets);
          this.actionDurations.set(e.kind, h);
          h.observe(e.ms / 1000);
        }
        return;
      }
      case "document-accepted":
        bump(this.documents, "accepted");
        return;
      case "document-rejected":
        bump(this.documents, "rejected");
        return;
      case "drift":
        this.drift++;
        return;
      case "reconciler-unreachable":
        this.unreachable++;
        return;
    }
  }

  /** The reconciler answered (a document or "unchanged"). */
  contact(at: number): void {
    this.lastContact = at;
  }

  render(status: NodeStatus, proc: ProcessFigures): string {
    const instances = new Map<string, number>();
    for (const w of status.workloads) bump(instances, `${w.app}\u0000${w.state}\u0000${w.health}`);
    const inSync =
      status.appliedHash !== null &&
      status.appliedHash === status.desiredHash &&
      status.phase === "converged";
    const families: (Family | HistogramFamily)[] = [
      gauge("berth_agent_info", "The agent's node and version", [
        { labels: { node: this.node, version: this.version }, value: 1 },
      ]),
      gauge(
        "berth_agent_phase",
        "The node's phase (1 for the current one of converged, applying, degraded, failed)",
        phases.map((p) => ({ labels: { phase: p }, value: p === status.phase ? 1 : 0 })),
      ),
      gauge("berth_agent_in_sync", "1 when the agent converged on the newest document it received", [
        { value: inSync ? 1 : 0 },
      ]),
      gauge(
        "berth_agent_instances",
        "Instances the agent runs or tracks, by app, state and health",
        [...instances].sort().map(([k, value]) => {
          const [app = "", state = "", health = ""] = k.split("\u0000");
          return { labels: { app, state, health }, value };
        }),
      ),
      counter(
        "berth_agent_actions_total",
        "Actions the agent executed, by kind and outcome",
        [...this.actions].sort().map(([k, value]) => {
          const [kind = "", outcome = ""] = k.split("\u0000");
          return { labels: { kind, outcome }, value };
        }),
      ),
      {
        name: "berth_agent_action_duration_seconds",
        help: "Duration of one action (create, replace, remove, route…) by kind",
        type: "histogram",
        buckets: durationBuckets,
        series: [...this.actionDurations]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([kind, h]) => ({ labels: { kind }, ...h })),
      },
      {
        name: "berth_agent_apply_duration_seconds",
        help: "Duration of one pass applying the desired document (plan and every action)",
        type: "histogram",
        buckets: durationBuckets,
        series: [{ counts: this.apply.counts, sum: this.apply.sum, count: this.apply.count }],
      },
      counter(
        "berth_agent_passes_total",
        "Passes by what started them (document, drift, backoff, startup, repeat)",
        [...this.passes].sort().map(([trigger, value]) => ({ labels: { trigger }, value })),
      ),
      counter(
        "berth_agent_documents_total",
        "Desired documents received, by result (accepted or rejected)",
        [...this.documents].sort().map(([result, value]) => ({ labels: { result }, value })),
      ),
      counter("berth_agent_drift_total", "Times the observed state drifted from what the agent applied", [
        { value: this.drift },
      ]),
      counter(
        "berth_agent_drift_repairs_total",
        "Things the agent put back after its document was applied (a killed process, a removed container, an edited Caddy config)",
        [{ value: status.drift?.repaired ?? 0 }],
      ),
      counter("berth_agent_reconciler_unreachable_total", "Times the reconciler became unreachable", [
        { value: this.unreachable },
      ]),
      gauge(
        "berth_agent_last_contact_timestamp_seconds",
        "When the reconciler last answered the agent (unix seconds)",
        this.lastContact === null ? [] : [{ value: this.lastContact / 1000 }],
      ),
      counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds", [
        { value: proc.cpuSeconds },
      ]),
      gauge("process_resident_memory_bytes", "Resident memory size in bytes", [
        { value: proc.residentBytes },
      ]),
      gauge("process_heap_bytes", "Process heap size in bytes", [{ value: proc.heapBytes }]),
      gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds", [
        { value: proc.startTimeSeconds },
      ]),
    ];
    return render(families);
  }
}

function bump(m: Map<string, number>, key: string): void {
  m.set(key, (m.get(key) ?? 0) + 1);
}

const gauge = (name: string, help: string, samples: Family["samples"]): Family => ({
  name,
  help,
  type: "gauge",
  samples,
});
const counter = (name: string, help: string, samples: Family["samples"]): Family => ({
  name,
  help,
  type: "counter",
  samples,
});
