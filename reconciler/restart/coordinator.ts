// `berth restart` on the reconciler: decides whether a restart may begin (core/restart), then
// restarts the app node after node — the next node only once the previous one reported success,
// so a restart that breaks something stops where it broke. Each node's agent gets the request on
// its channel and reports its steps; every step is an event (restart-requested, restart-progress,
// restart-finished). A generation that changes the app drops the restart; a node that does not
// pick the request up or stops reporting fails it, saying which. In memory only: a reconciler
// restart forgets restarts under way (agents finish the node they are on).
import { randomBytes } from "node:crypto";
import { decideRestart, type RestartRefusal } from "../../core/restart/eligibility.js";
import type { RequestReport, RestartAccepted } from "../../schema/index.js";
import type { NodeRequests } from "../channel/node-requests.js";
import type { ApiBackend } from "../contracts.js";
import type { EventBus } from "../events.js";

export interface RestartOptions {
  /** An agent must fetch the request within this long (default 60 s). */
  pickupMs?: number;
  /** How long a node may take for the app's instances (default 15 min); the agent gets it as its deadline. */
  nodeTimeoutMs?: number;
  /** ms epoch of the agent's last call, as the HTTP layer saw it. */
  lastSeen?: (node: string) => number | null;
  now?: () => number;
}

interface Target {
  node: string;
  workloads: { id: string; specHash: string }[];
}

interface Restart {
  id: string;
  app: string;
  generation: number;
  targets: Target[];
  /** Index of the node being restarted. */
  current: number;
  timer: NodeJS.Timeout | null;
  finished: boolean;
}

export type RestartAnswer =
  | { ok: true; accepted: RestartAccepted }
  | { ok: false; code: RestartRefusal; message: string };

export class RestartCoordinator {
  private readonly active = new Map<string, Restart>();
  /** Restarts that ended lately: late reports of theirs are taken and ignored. */
  private readonly ended = new Set<string>();
  private readonly pickupMs: number;
  private readonly nodeTimeoutMs: number;
  private readonly now: () => number;
  /** Subscribed to published events while a restart is under way. */
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly backend: ApiBackend,
    private readonly requests: NodeRequests,
    private readonly events: EventBus,
    private readonly opts: RestartOptions = {},
  ) {
    this.pickupMs = opts.pickupMs ?? 60_000;
    this.nodeTimeoutMs = opts.nodeTimeoutMs ?? 15 * 60_000;
    this.now = opts.now ?? Date.now;
    requests.onTaken((node, ids) => {
      for (const id of ids) {
        const r = this.active.get(id);
        if (r && r.targets[r.current]?.node === node)
          this.arm(r, this.nodeTimeoutMs + 30_000, "did not report the end of its restart in time");
      }
    });
  }

  close(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    for (const r of this.active.values()) if (r.timer) clearTimeout(r.timer);
  }

  /** Starts a restart of `app` (on `node` only, if given), or says why not. */
  request(app: string, node?: string): RestartAnswer {
    const generation = this.backend.published().generation;
    const now = this.now();
    const nodes = this.backend.nodes().map((n) => {
      const doc = this.backend.desired(n.node);
      return {
        node: n.node,
        docHash: doc?.hash ?? null,
        workloads: (doc?.workloads ?? [])
          .filter((w) => w.app === app)
          .map((w) => ({ id: w.id, specHash: w.specHash })),
        status: n.status,
        lastSeen: latest(n.lastSeen, this.opts.lastSeen?.(n.node) ?? null),
      };
    });
    const busy = [...this.active.values()].find((r) => r.app === app);
    const d = decideRestart({
      app,
      ...(node !== undefined ? { node } : {}),
      generation,
      nodes,
      inProgress: busy?.id ?? null,
      now,
    });
    if (!d.ok) return d;
    const r: Restart = {
      id: `restart-${randomBytes(6).toString("hex")}`,
      app,
      generation,
      targets: d.targets,
      current: 0,
      timer: null,
      finished: false,
    };
    this.active.set(r.id, r);
    this.unsubscribe ??= this.events.subscribe((e) => {
      if (e.type === "published") this.checkGeneration();
    });
    const order = r.targets.map((t) => t.node);
    const message = `restarting ${app} on ${order.join(", ")}, one node after another: each instance is started anew and must be healthy before the old one stops`;
    this.events.emit("restart-requested", { restart: r.id, app, generation, nodes: order, message });
    const eventId = this.events.latestId() ?? "";
    this.startNode(r);
    return { ok: true, accepted: { restart: r.id, app, generation, nodes: order, eventId, message } };
  }

  /** A node's report on restart `id`: "unknown" when no such restart runs there (any more). */
  report(node: string, id: string, report: RequestReport): "ok" | "unknown" {
    const r = this.active.get(id);
    const t = r?.targets[r.current];
    if (!r || r.finished || t?.node !== node) return this.ended.has(id) ? "ok" : "unknown";
    this.events.emit("restart-progress", {
      restart: id,
      app: r.app,
      node,
      state: report.state,
      message: report.message,
      ...(report.workload ? { workload: report.workload } : {}),
      ...(report.done !== undefined ? { done: report.done } : {}),
      ...(report.total !== undefined ? { total: report.total } : {}),
    });
    if (report.state === "succeeded") {
      r.current++;
      if (r.current < r.targets.length) this.startNode(r);
      else this.finish(r, "succeeded", `restarted ${r.app} on ${r.targets.map((x) => x.node).join(", ")}`);
    } else if (report.state === "failed" || report.state === "dropped") {
      const left = r.targets.slice(r.current + 1).map((x) => x.node);
      this.finish(
        r,
        report.state,
        `${node}: ${report.message}${left.length > 0 ? `; not restarted on ${left.join(", ")}` : ""}`,
      );
    } else if (report.state === "accepted" || report.state === "running") {
      this.arm(r, this.nodeTimeoutMs + 30_000, "did not report the end of its restart in time");
    }
    return "ok";
  }

  private startNode(r: Restart): void {
    const t = r.targets[r.current] as Target;
    this.requests.push(t.node, {
      kind: "restart",
      id: r.id,
      app: r.app,
      generation: r.generation,
      workloads: t.workloads,
      timeoutSeconds: Math.ceil(this.nodeTimeoutMs / 1000),
    });
    this.arm(
      r,
      this.pickupMs,
      `did not pick up the restart within ${Math.round(this.pickupMs / 1000)} s (is its agent connected?)`,
    );
  }

  private arm(r: Restart, ms: number, what: string): void {
    if (r.timer) clearTimeout(r.timer);
    const node = r.targets[r.current]?.node as string;
    r.timer = setTimeout(() => {
      r.timer = null;
      this.requests.cancel(node, r.id);
      const left = r.targets.slice(r.current + 1).map((x) => x.node);
      this.finish(
        r,
        "failed",
        `node ${node} ${what}${left.length > 0 ? `; not restarted on ${left.join(", ")}` : ""}`,
      );
    }, ms);
    r.timer.unref();
  }

  /** A new generation that changes the app drops the restart (its agent drops its part too). */
  private checkGeneration(): void {
    for (const r of [...this.active.values()]) {
      const changed: string[] = [];
      const running = new Set<string>();
      for (const n of this.backend.nodes()) {
        const ws = (this.backend.desired(n.node)?.workloads ?? []).filter((w) => w.app === r.app);
        if (ws.length > 0) running.add(n.node);
        const t = r.targets.find((x) => x.node === n.node);
        if (!t) continue;
        const m = new Map(ws.map((w) => [w.id, w.specHash]));
        if (m.size !== t.workloads.length || t.workloads.some((w) => m.get(w.id) !== w.specHash))
          changed.push(n.node);
      }
      if (changed.length === 0) continue;
      const node = r.targets[r.current]?.node as string;
      this.requests.cancel(node, r.id);
      const done = r.targets.slice(0, r.current).map((x) => x.node);
      this.finish(
        r,
        "dropped",
        `generation ${this.backend.published().generation} changed ${r.app} (on ${changed.join(", ")}) before the restart finished; dropped${done.length > 0 ? ` after restarting it on ${done.join(", ")}` : ", nothing restarted"} — the deploy takes over`,
      );
    }
  }

  private finish(r: Restart, outcome: "succeeded" | "failed" | "dropped", message: string): void {
    if (r.finished) return;
    r.finished = true;
    if (r.timer) clearTimeout(r.timer);
    this.active.delete(r.id);
    if (this.active.size === 0) {
      this.unsubscribe?.();
      this.unsubscribe = null;
    }
    this.ended.add(r.id);
    if (this.ended.size > 100) this.ended.delete(this.ended.values().next().value as string);
    this.events.emit("restart-finished", { restart: r.id, app: r.app, outcome, message });
  }
}

function latest(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.max(a, b);
}
