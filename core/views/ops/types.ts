// The operations page's view-models: what the reconciler knows (inputs) and the rows the page
// shows (outputs). Types only. Fields that other parts of berth add over time (liveness, failure
// causes, crash loops, drift repairs) are optional here and read defensively: a field that is
// absent shows as "unknown", never as healthy or converged.
import type { DesiredState, Diagnostic, NodeStatus, Plan, WorkloadStatus } from "../../../schema/index.js";

export type Liveness = "alive" | "stale" | "lost";

/** A failure's address and words (status.schema.json Operation.cause, when agents report it). */
export interface Cause {
  where: string;
  message: string;
}

/** How the last instance of a workload ended (WorkloadStatus.lastExit, when agents report it). */
export interface LastExit {
  code: number | null;
  signal: string | null;
  at?: string;
  output?: string[];
}

/** A workload report as the page reads it: the schema's fields plus those not every agent sends. */
export type ReportedWorkload = Omit<WorkloadStatus, "state" | "operation"> & {
  state: string;
  lastExit?: LastExit | null;
  operation?:
    | (NonNullable<WorkloadStatus["operation"]> & { cause?: Cause | null; startedAt?: string })
    | null;
};

/** A node as the reconciler knows it: its published document, its last report, its liveness. */
export interface NodeInput {
  node: string;
  /** ISO time the reconciler last knew the agent was there; null when never seen. */
  lastSeen: string | null;
  /** Absent until the reconciler vouches for liveness: shown as unknown. */
  liveness?: Liveness;
  livenessSince?: string;
  /** What is known about the node's contact, in words (from the reconciler). */
  livenessMessage?: string;
  desired: DesiredState | undefined;
  /** Older agents send no `drift` (status.schema.json Drift): shown unknown. */
  status: (Omit<NodeStatus, "workloads"> & { workloads: ReportedWorkload[] }) | null;
}

/** The newest commit of the tracked branch and what became of it. */
export interface TipInput {
  commit: string;
  /** published | unchanged (nothing to publish) | rejected (invalid) | pending (seen, not done) */
  state: "published" | "unchanged" | "rejected" | "pending";
  at: string;
  subject?: string;
  errors?: number;
  diagnostics?: Diagnostic[];
}

/** An open alert of berth's own alerting. */
export interface AlertInput {
  summary: string;
  cause: string;
  status: string;
  since: string;
}

/** The generation that last changed an app (from the plans on the desired branch). */
export interface DeployInput {
  generation: number;
  /** When the generation was published (ISO). */
  at: string;
  commit: string;
}

export interface PublishedInput {
  generation: number;
  commit: string | null;
  desiredCommit: string | null;
  rejected?: { commit: string; at: string; errors: number; diagnostics: Diagnostic[] } | null;
}

export interface OpsInput {
  now: number;
  trackedBranch: string;
  published: PublishedInput;
  tip: TipInput | null;
  nodes: NodeInput[];
  /** app → the generation that last changed it, when known. */
  deploys: ReadonlyMap<string, DeployInput>;
  /** berth's own open alerts (GET /v1/alerts), when alerting is on. */
  alerts?: AlertInput[] | null;
  /** The reconciler's own health (/healthz), when it reports problems. */
  health?: { status: string; problems: { problem?: string; message: string }[] } | null;
}

// ---------------------------------------------------------------- outputs

/** What needs attention first: lower is more urgent. */
export type Attention = "failing" | "diverged" | "unhealthy" | "unknown" | "ok";
export const attentionRank: Record<Attention, number> = {
  failing: 0,
  diverged: 1,
  unhealthy: 2,
  unknown: 3,
  ok: 4,
};

export type HealthState = "healthy" | "unhealthy" | "unknown" | "none";
export type SyncState = "converged" | "converging" | "failing" | "unknown";

/** One desired instance of an app on a node, with what its node reported about it. */
export interface InstanceRow {
  node: string;
  app: string;
  id: string;
  replica: number;
  slot: string | null;
  port: number | null;
  /** running, starting, stopped, failed, crash-looping, or "unknown" (no report / node not vouched). */
  state: string;
  health: "healthy" | "unhealthy" | "unknown";
  /** Runs the desired spec: true, false (another version), null (not known). */
  current: boolean | null;
  restarts: number | null;
  since: string | null;
  operation: ReportedWorkload["operation"] | null;
  lastExit: LastExit | null;
  /** One line saying why this instance is not right, or null. */
  problem: string | null;
  liveness: Liveness | "unknown";
}

/** Desired vs serving on one node for one app. */
export interface NodeVersion {
  node: string;
  desiredCommit: string | null;
  /** The commit serving there: the desired one when every instance runs its spec, else the node's
   * last applied commit, null when not known. */
  servingCommit: string | null;
  current: number;
  total: number;
  healthy: number;
}

export interface FailingOperation {
  node: string;
  instance: string;
  step: string;
  status: string;
  attempt: number;
  nextAttemptAt: string | null;
  cause: string;
}

export interface AppRow {
  app: string;
  attention: Attention;
  sync: SyncState;
  health: HealthState;
  healthy: number;
  desired: number;
  versions: NodeVersion[];
  failing: FailingOperation | null;
  lastDeploy: (DeployInput & { result: "succeeded" | "failed" | "in progress" | "unknown" }) | null;
  lastError: string | null;
  nodes: string[];
}

export interface NodeRow {
  node: string;
  attention: Attention;
  liveness: Liveness | "unknown";
  livenessSince: string | null;
  livenessMessage: string | null;
  lastSeen: string | null;
  agentVersion: string | null;
  phase: string;
  inSync: boolean | null;
  /** Things the agent put back after drift since it started; null when it does not report it. */
  driftRepaired: number | null;
  /** The last repair: when (ISO) and what the agent did, or null before any (or unknown). */
  driftLast: { at: string | null; what: string } | null;
  problems: string[];
  apps: number;
}

export interface TipRow {
  commit: string;
  state: TipInput["state"];
  at: string;
  subject: string | null;
  errors: number;
  diagnostics: Diagnostic[];
}

export interface OverviewModel {
  trackedBranch: string;
  published: PublishedInput;
  tip: TipRow | null;
  health: OpsInput["health"];
  alerts: AlertInput[];
  counts: { apps: number; appsAttention: number; nodes: number; nodesAttention: number };
  apps: AppRow[];
  nodes: NodeRow[];
  page: PageInfo;
}

export interface PageInfo {
  /** 1-based page of the app rows shown. */
  page: number;
  pages: number;
  perPage: number;
  /** App rows matching the filter (before paging). */
  matching: number;
  filter: OverviewFilter;
}

export interface OverviewFilter {
  /** Substring of the app name. */
  q?: string;
  /** Only apps (and nodes) that need attention. */
  attention?: boolean;
}

export type { Plan };
