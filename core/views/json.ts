// The plan as JSON (SPEC §3, formatVersion 1) with a stable field order: the order of the plan
// schema, whatever order the object was built in. Pure.
import type { FieldChange, NodeChange, Plan, ResourceChange, Side } from "../../schema/index.js";
import { maskValue } from "../secrets/mask.js";

export function renderJson(plan: Plan): string {
  return `${JSON.stringify(ordered(plan), null, 2)}\n`;
}

function ordered(plan: Plan): Plan {
  return {
    formatVersion: plan.formatVersion,
    base: side(plan.base),
    head: side(plan.head),
    valid: plan.valid,
    errors: plan.errors.map((e) => ({
      file: e.file,
      line: e.line,
      col: e.col,
      rule: e.rule,
      message: e.message,
    })),
    resources: plan.resources.map(resource),
    nodes: plan.nodes.map(node),
    moves: (plan.moves ?? []).map((m) => ({
      id: m.id,
      app: m.app,
      from: m.from,
      to: m.to,
      order: m.order,
      reason: m.reason,
    })),
    ...(plan.failover
      ? { failover: plan.failover.map((f) => ({ node: f.node, lostSince: f.lostSince, message: f.message })) }
      : {}),
    ...(plan.handoffs
      ? {
          handoffs: plan.handoffs.map((h) => ({
            id: h.id,
            app: h.app,
            node: h.node,
            ...(h.to !== undefined ? { to: h.to } : {}),
            event: h.event,
            message: h.message,
          })),
        }
      : {}),
    summary: { add: plan.summary.add, change: plan.summary.change, remove: plan.summary.remove },
  };
}

function side(s: Side): Side {
  return { ref: s.ref, commit: s.commit, ...(s.subject !== undefined ? { subject: s.subject } : {}) };
}

function resource(r: ResourceChange): ResourceChange {
  return {
    kind: r.kind,
    name: r.name,
    action: r.action,
    ...(r.file !== undefined ? { file: r.file } : {}),
    changes: r.changes.map(field),
  };
}

function node(n: NodeChange): NodeChange {
  return {
    node: n.node,
    hashBefore: n.hashBefore ?? null,
    hashAfter: n.hashAfter ?? null,
    workloads: n.workloads.map((w) => ({
      id: w.id,
      app: w.app,
      action: w.action,
      reason: w.reason,
      changes: w.changes.map(field),
    })),
    routes: n.routes.map((r) => ({
      host: r.host,
      path: r.path,
      action: r.action,
      reason: r.reason,
      changes: r.changes.map(field),
    })),
  };
}

function field(c: FieldChange): FieldChange {
  return {
    field: c.field,
    ...(c.before !== undefined ? { before: maskValue(c.before) } : {}),
    ...(c.after !== undefined ? { after: maskValue(c.after) } : {}),
    ...(c.secret !== undefined ? { secret: c.secret } : {}),
  };
}
