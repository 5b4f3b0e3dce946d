// Each rule kind's verdict on the facts: which subjects (a node, an app, a branch) the condition
// holds for right now, with a stable summary, the cause in words and the page to link. Per-app
// kinds aggregate over nodes, so one app failing on many nodes is one alert. Pure.
import { createHash } from "node:crypto";
import type { AppNode } from "../status/app-nodes.js";
import type { Condition, Facts, Rule } from "./types.js";

/** 16 hex characters of SHA-256 over the rule name and the sorted subject: nothing that changes between repeats. */
export function fingerprint(rule: string, subject: Record<string, string>): string {
  const parts = Object.keys(subject)
    .sort()
    .map((k) => `${k}=${subject[k]}`);
  return createHash("sha256")
    .update([rule, ...parts].join("\n"))
    .digest("hex")
    .slice(0, 16);
}

const listed = (items: string[], max = 3): string =>
  items.length <= max
    ? items.join("; ")
    : `${items.slice(0, max).join("; ")}; and ${items.length - max} more`;

function byApp(apps: readonly AppNode[], rule: Rule): Map<string, AppNode[]> {
  const out = new Map<string, AppNode[]>();
  for (const a of apps) {
    if (rule.apps && !rule.apps.includes(a.app)) continue;
    if (rule.nodes && !rule.nodes.includes(a.node)) continue;
    const list = out.get(a.app) ?? [];
    list.push(a);
    out.set(a.app, list);
  }
  return out;
}

const appPath = (app: string) => `/apps/${encodeURIComponent(app)}`;
/** The operations page's node page: liveness, last seen, what the node runs. */
const nodePath = (node: string) => `/nodes/${encodeURIComponent(node)}`;

export function conditions(rule: Rule, facts: Facts): Condition[] {
  const base = { rule: rule.name, kind: rule.kind };
  const out: Condition[] = [];
  switch (rule.kind) {
    case "node-lost":
      for (const n of facts.nodes) {
        if (n.liveness === "alive" || (rule.nodes && !rule.nodes.includes(n.node))) continue;
        out.push({
          // Stale is not back: after a reconciler restart every node is stale until it calls.
          ...(n.liveness === "stale" ? { unknown: true as const } : {}),
          ...base,
          subject: { node: n.node },
          summary: `node ${n.node} is lost`,
          cause:
            n.lastSeen === null
              ? `its agent has not called the reconciler since the reconciler started`
              : `no contact from its agent since ${new Date(n.lastSeen).toISOString()}`,
          path: nodePath(n.node),
          resolvedSummary: `node ${n.node} is back`,
        });
      }
      return out;
    case "deploy-failed":
    case "crash-loop":
      for (const [app, list] of byApp(facts.apps, rule)) {
        const failing = list.flatMap((a) =>
          (rule.kind === "crash-loop" ? a.crashLooping : a.failed).map(
            (w) => `${a.node}/${w.id}: ${w.cause}`,
          ),
        );
        if (failing.length === 0) continue;
        const crash = rule.kind === "crash-loop";
        out.push({
          ...base,
          subject: { app },
          summary: crash ? `app ${app} is crash-looping` : `deploy of app ${app} failed`,
          cause: listed(failing),
          path: appPath(app),
          resolvedSummary: crash ? `app ${app} no longer crash-loops` : `app ${app} deployed`,
        });
      }
      return out;
    case "app-unhealthy":
      for (const [app, list] of byApp(facts.apps, rule)) {
        const reported = list.filter((a) => a.reported);
        const short = reported.filter((a) => a.healthy < a.desired || a.unhealthy > 0);
        if (short.length === 0) continue;
        const healthy = reported.reduce((s, a) => s + a.healthy, 0);
        const desired = reported.reduce((s, a) => s + a.desired, 0);
        out.push({
          ...base,
          subject: { app },
          summary: `app ${app} is unhealthy`,
          cause: `${healthy} of ${desired} instances healthy (${short.map((a) => `${a.node}: ${a.healthy}/${a.desired}`).join(", ")})`,
          path: appPath(app),
          resolvedSummary: `app ${app} is healthy again`,
        });
      }
      return out;
    case "invalid-commit": {
      const r = facts.rejected;
      if (facts.tipChecked === false && facts.trackedBranch) {
        const branch = facts.trackedBranch;
        const text = `the tip of ${branch} is not checked yet`;
        out.push({
          ...base,
          subject: { branch },
          summary: text,
          cause: text,
          path: "/",
          resolvedSummary: text,
          unknown: true,
        });
        return out;
      }
      if (!r) return out;
      out.push({
        ...base,
        subject: { branch: r.branch },
        summary: `the tip of ${r.branch} is invalid: nothing is published, the last good state stays served`,
        cause: `commit ${r.commit.slice(0, 12)} has ${r.errors} error${r.errors === 1 ? "" : "s"}: ${listed(r.diagnostics)}`,
        path: "/",
        resolvedSummary: `the tip of ${r.branch} is valid again`,
      });
      return out;
    }
    case "git-trouble":
      for (const t of facts.git) {
        if (t.op === "degraded") {
          out.push({
            ...base,
            subject: { op: t.op, problem: t.branch },
            summary: `the reconciler is degraded: ${t.branch}`,
            cause: t.message,
            path: "/",
            resolvedSummary: `the reconciler recovered: ${t.branch}`,
          });
          continue;
        }
        const verb = t.op === "push" ? "push" : "fetch";
        out.push({
          ...base,
          subject: { op: t.op, branch: t.branch },
          summary: `the reconciler cannot ${verb} the ${t.branch} branch`,
          cause: t.message,
          path: "/",
          resolvedSummary: `the reconciler can ${verb} the ${t.branch} branch again`,
        });
      }
      return out;
  }
}
