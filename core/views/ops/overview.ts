// The overview: every app and node as a row, sorted by what needs attention first (failing
// operations, then apps whose desired version is not what serves, then unhealthy apps, then what
// cannot be vouched for, then everything else), with health kept apart from convergence. Paged
// and filtered here, so a page never grows with the fleet. Pure.
import { instancesOf, livenessOf, vouched } from "./instances.js";
import {
  type AppRow,
  type Attention,
  attentionRank,
  type FailingOperation,
  type HealthState,
  type InstanceRow,
  type NodeInput,
  type NodeRow,
  type NodeVersion,
  type OpsInput,
  type OverviewFilter,
  type OverviewModel,
  type SyncState,
  type TipRow,
} from "./types.js";

export const DEFAULT_PER_PAGE = 1000;
export const MAX_PER_PAGE = 2000;

const failingStates = new Set(["failed", "crash-looping"]);

function isFailing(i: InstanceRow): boolean {
  const op = i.operation;
  return (op != null && (op.status === "failed" || op.status === "backoff")) || failingStates.has(i.state);
}

/** Every app with desired instances, unsorted: app → its instances across nodes. */
export function instancesByApp(nodes: readonly NodeInput[]): Map<string, InstanceRow[]> {
  const byApp = new Map<string, InstanceRow[]>();
  for (const n of nodes) {
    for (const i of instancesOf(n)) {
      let list = byApp.get(i.app);
      if (!list) {
        list = [];
        byApp.set(i.app, list);
      }
      list.push(i);
    }
  }
  return byApp;
}

function versionsOf(instances: readonly InstanceRow[], nodes: ReadonlyMap<string, NodeInput>): NodeVersion[] {
  const byNode = new Map<string, InstanceRow[]>();
  for (const i of instances) {
    const list = byNode.get(i.node) ?? [];
    list.push(i);
    byNode.set(i.node, list);
  }
  return [...byNode].map(([node, list]): NodeVersion => {
    const n = nodes.get(node);
    const doc = n?.desired;
    const st = n?.status;
    const desiredCommit = doc?.source.commit ?? null;
    const allCurrent = list.every((i) => i.current === true);
    const someOld = list.some((i) => i.current === false);
    const servingCommit = allCurrent
      ? desiredCommit
      : someOld && st?.appliedCommit && st.appliedHash !== doc?.hash
        ? st.appliedCommit
        : null;
    return {
      node,
      desiredCommit,
      servingCommit,
      current: list.filter((i) => i.current === true).length,
      total: list.length,
      healthy: list.filter((i) => i.health === "healthy").length,
    };
  });
}

function syncOf(instances: readonly InstanceRow[]): SyncState {
  if (instances.some(isFailing)) return "failing";
  if (instances.some((i) => i.current === false || (i.current === true && i.state !== "running")))
    return "converging";
  if (instances.some((i) => i.current === null || i.state === "unknown")) return "unknown";
  return "converged";
}

function healthOf(instances: readonly InstanceRow[], healthy: number): HealthState {
  if (instances.length === 0) return "none";
  if (instances.some((i) => i.health === "unhealthy")) return "unhealthy";
  return healthy === instances.length ? "healthy" : "unknown";
}

function attentionOf(sync: SyncState, health: HealthState): Attention {
  if (sync === "failing") return "failing";
  if (sync === "converging") return "diverged";
  if (health === "unhealthy") return "unhealthy";
  if (sync === "unknown" || health === "unknown") return "unknown";
  return "ok";
}

function failingOf(instances: readonly InstanceRow[]): FailingOperation | null {
  const i = instances.find(isFailing);
  if (!i) return null;
  const op = i.operation;
  return {
    node: i.node,
    instance: i.id,
    step: op?.step ?? `instance ${i.state}`,
    status: op?.status ?? i.state,
    attempt: op?.attempt ?? 0,
    nextAttemptAt: op?.nextAttemptAt ?? null,
    cause: i.problem ?? "no cause reported",
  };
}

/** One app's row from its instances. */
export function appRow(
  app: string,
  instances: readonly InstanceRow[],
  nodes: ReadonlyMap<string, NodeInput>,
  input: Pick<OpsInput, "deploys">,
): AppRow {
  const healthy = instances.filter((i) => i.health === "healthy").length;
  const sync = syncOf(instances);
  const health = healthOf(instances, healthy);
  const attention = attentionOf(sync, health);
  const deploy = input.deploys.get(app);
  const result =
    attention === "ok"
      ? "succeeded"
      : attention === "failing"
        ? "failed"
        : attention === "diverged"
          ? "in progress"
          : "unknown";
  const troubled = instances.find(isFailing) ?? instances.find((i) => i.problem !== null);
  return {
    app,
    attention,
    sync,
    health,
    healthy,
    desired: instances.length,
    versions: versionsOf(instances, nodes),
    failing: failingOf(instances),
    lastDeploy: deploy ? { ...deploy, result } : null,
    lastError: troubled?.problem ?? null,
    nodes: [...new Set(instances.map((i) => i.node))],
  };
}

export function nodeRow(n: NodeInput): NodeRow {
  const liveness = livenessOf(n);
  const st = n.status;
  const trusted = vouched(n);
  const inSync = !trusted || !n.desired ? null : st?.appliedHash === n.desired.hash;
  const problems = [
    ...(st?.problems ?? []).map((p) => `${p.code}: ${p.message}`),
    ...(st?.ingress?.lastError ? [`ingress: ${st.ingress.lastError}`] : []),
  ];
  const phase = trusted ? (st?.phase ?? "unknown") : "unknown";
  const attention: Attention =
    liveness === "stale" || liveness === "lost"
      ? "failing"
      : phase === "failed" || phase === "degraded" || problems.length > 0
        ? "unhealthy"
        : inSync === false || phase === "applying"
          ? "diverged"
          : liveness === "unknown" || st === null
            ? "unknown"
            : "ok";
  return {
    node: n.node,
    attention,
    liveness,
    livenessSince: n.livenessSince ?? null,
    livenessMessage: n.livenessMessage ?? null,
    lastSeen: n.lastSeen,
    agentVersion: st?.agentVersion ?? null,
    phase,
    inSync,
    driftRepaired: typeof st?.drift?.repaired === "number" ? st.drift.repaired : null,
    driftLast: st?.drift?.last ? { at: st.drift.lastAt ?? null, what: st.drift.last } : null,
    problems,
    apps: new Set(n.desired?.workloads.map((w) => w.app) ?? []).size,
  };
}

/** Rows most urgent first, then by name (sorts `rows` in place and returns it). */
export function sortRows<T extends { attention: Attention }>(rows: T[], name: (r: T) => string): T[] {
  return rows.sort(byAttention(name));
}

const byAttention =
  <T extends { attention: Attention }>(name: (r: T) => string) =>
  (a: T, b: T) =>
    attentionRank[a.attention] - attentionRank[b.attention] ||
    (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0);

/** Every app row, most urgent first, then by name. */
export function appRows(input: OpsInput, only?: ReadonlySet<string>): AppRow[] {
  const nodes = new Map(input.nodes.map((n) => [n.node, n]));
  const rows: AppRow[] = [];
  for (const [app, instances] of instancesByApp(input.nodes)) {
    if (only && !only.has(app)) continue;
    rows.push(appRow(app, instances, nodes, input));
  }
  return rows.sort(byAttention((r) => r.app));
}

export function nodeRows(input: OpsInput): NodeRow[] {
  return input.nodes.map(nodeRow).sort(byAttention((r) => r.node));
}

export function tipRow(input: OpsInput): TipRow | null {
  const t = input.tip;
  if (t) {
    return {
      commit: t.commit,
      state: t.state,
      at: t.at,
      subject: t.subject ?? null,
      errors: t.errors ?? t.diagnostics?.length ?? 0,
      diagnostics: t.diagnostics ?? [],
    };
  }
  const r = input.published.rejected;
  if (r)
    return {
      commit: r.commit,
      state: "rejected",
      at: r.at,
      subject: null,
      errors: r.errors,
      diagnostics: r.diagnostics,
    };
  return null;
}

/** Sort key the page's live script keeps rows in order by (rank, then name). */
export function sortKey(attention: Attention, name: string): string {
  return `${attentionRank[attention]}|${name}`;
}

export function overview(
  input: OpsInput,
  filter: OverviewFilter = {},
  paging: { page?: number; perPage?: number } = {},
): OverviewModel {
  return overviewOf({ apps: appRows(input), nodes: nodeRows(input) }, input, filter, paging);
}

/** The overview from rows made already (sorted by attention; a cache may keep them). */
export function overviewOf(
  rows: { apps: readonly AppRow[]; nodes: readonly NodeRow[] },
  input: OpsInput,
  filter: OverviewFilter = {},
  paging: { page?: number; perPage?: number } = {},
): OverviewModel {
  const { apps, nodes } = rows;
  const q = filter.q?.trim().toLowerCase() || undefined;
  const matching = apps.filter(
    (a) => (!q || a.app.includes(q)) && (!filter.attention || a.attention !== "ok"),
  );
  const perPage = Math.min(MAX_PER_PAGE, Math.max(1, Math.floor(paging.perPage ?? DEFAULT_PER_PAGE)));
  const pages = Math.max(1, Math.ceil(matching.length / perPage));
  const page = Math.min(pages, Math.max(1, Math.floor(paging.page ?? 1)));
  return {
    trackedBranch: input.trackedBranch,
    published: input.published,
    tip: tipRow(input),
    health: input.health ?? null,
    alerts: input.alerts ?? [],
    counts: {
      apps: apps.length,
      appsAttention: apps.filter((a) => a.attention !== "ok").length,
      nodes: nodes.length,
      nodesAttention: nodes.filter((n) => n.attention !== "ok").length,
    },
    apps: matching.slice((page - 1) * perPage, page * perPage),
    nodes: filter.attention ? nodes.filter((n) => n.attention !== "ok") : [...nodes],
    page: {
      page,
      pages,
      perPage,
      matching: matching.length,
      filter: { ...(q ? { q } : {}), ...(filter.attention ? { attention: true } : {}) },
    },
  };
}
