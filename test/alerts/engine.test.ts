// The pure alert engine under a fake clock: each kind opens once and closes once, both edges are
// debounced, storms collapse into one alert (plus reminders), per-app alerts stay one per app,
// fingerprints ignore what changes between repeats, and state that went through JSON (a restart)
// fires nothing again.
import { describe, expect, it } from "vitest";
import {
  type AlertState,
  type Facts,
  fingerprint,
  type Notification,
  nextDue,
  normalizeRules,
  parseDuration,
  type Rule,
  step,
} from "../../core/alerts/index.js";
import type { AppNode } from "../../core/status/app-nodes.js";

const t0 = Date.parse("2026-01-01T00:00:00Z");
const s = 1000;
const none: Facts = { nodes: [], apps: [], rejected: null, git: [] };

function app(name: string, node: string, over: Partial<AppNode> = {}): AppNode {
  return {
    app: name,
    node,
    desiredRevision: "aaa",
    servingRevision: "aaa",
    desired: 1,
    healthy: 1,
    unhealthy: 0,
    crashLooping: [],
    failed: [],
    reported: true,
    ...over,
  };
}
const failedApp = (name: string, node = "n1", cause = "exit code 1") =>
  app(name, node, { healthy: 0, unhealthy: 1, failed: [{ id: `${name}-0`, cause }] });

/** Runs the engine over (time, facts) pairs; returns every notification and the final states. */
function run(rules: Rule[], timeline: [number, Facts][], start = new Map<string, AlertState>()) {
  let states = start;
  const sent: Notification[] = [];
  for (const [t, facts] of timeline) {
    const r = step(rules, states, facts, t);
    states = r.states;
    sent.push(...r.notifications);
  }
  return { sent, states };
}
const kinds = (ns: Notification[]) => ns.map((n) => `${n.kind} ${n.summary}`);
const rule = (kind: Rule["kind"], over: Partial<Rule> = {}): Rule => ({
  ...(normalizeRules([{ kind }])[0] as Rule),
  ...over,
});

describe("alert engine: one firing, one resolved per kind", () => {
  const lost: Facts = { ...none, nodes: [{ node: "n1", liveness: "lost", lastSeen: t0 - 600 * s }] };
  const back: Facts = { ...none, nodes: [{ node: "n1", liveness: "alive", lastSeen: t0 }] };
  const bad = (commit: string): Facts => ({
    ...none,
    rejected: { branch: "main", commit, errors: 2, diagnostics: ["apps/web.yaml:3:7: bad port", "b"] },
  });
  const crash: Facts = {
    ...none,
    apps: [app("web", "n1", { crashLooping: [{ id: "web-0", cause: "exited with code 3" }] })],
  };
  const pushFail: Facts = {
    ...none,
    git: [{ op: "push", branch: "desired", message: "remote rejected: permission denied", since: t0 }],
  };
  const cases: { name: string; rule: Rule; timeline: [number, Facts][]; want: string[]; cause: RegExp }[] = [
    {
      name: "node lost, then back (resolved after 30 s back)",
      rule: rule("node-lost"),
      timeline: [
        [t0, lost],
        [t0 + 5 * s, lost],
        [t0 + 60 * s, back],
        [t0 + 70 * s, back],
        [t0 + 90 * s, back],
        [t0 + 200 * s, back],
      ],
      want: ["firing node n1 is lost", "resolved node n1 is back"],
      cause: /no contact from its agent since 2025-12-31T23:50:00.000Z/,
    },
    {
      name: "deploy failed, then fixed",
      rule: rule("deploy-failed"),
      timeline: [
        [t0, { ...none, apps: [failedApp("web", "n1", "health check: connection refused")] }],
        [t0 + 10 * s, { ...none, apps: [app("web", "n1")] }],
        [t0 + 200 * s, { ...none, apps: [app("web", "n1")] }],
      ],
      want: ["firing deploy of app web failed", "resolved app web deployed"],
      cause: /n1\/web-0: health check: connection refused/,
    },
    {
      name: "crash loop, then stable",
      rule: rule("crash-loop"),
      timeline: [
        [t0, crash],
        [t0 + 100 * s, none],
        [t0 + 401 * s, none],
      ],
      want: ["firing app web is crash-looping", "resolved app web no longer crash-loops"],
      cause: /exited with code 3/,
    },
    {
      name: "invalid commit, a second invalid one on top, then a repair",
      rule: rule("invalid-commit"),
      timeline: [
        [t0, bad("a".repeat(40))],
        [t0 + 5 * s, bad("b".repeat(40))],
        [t0 + 9 * s, none],
      ],
      want: [
        "firing the tip of main is invalid: nothing is published, the last good state stays served",
        "resolved the tip of main is valid again",
      ],
      cause: /apps\/web.yaml:3:7: bad port/,
    },
    {
      name: "app unhealthy only after its window, resolved after the same window clear",
      rule: rule("app-unhealthy", { forMs: 60 * s, resolveMs: 60 * s }),
      timeline: [
        [t0, { ...none, apps: [app("web", "n1", { healthy: 0 })] }],
        [t0 + 30 * s, { ...none, apps: [app("web", "n1", { healthy: 0 })] }],
        [t0 + 61 * s, { ...none, apps: [app("web", "n1", { healthy: 0 })] }],
        [t0 + 100 * s, { ...none, apps: [app("web", "n1")] }],
        [t0 + 161 * s, { ...none, apps: [app("web", "n1")] }],
      ],
      want: ["firing app web is unhealthy", "resolved app web is healthy again"],
      cause: /0 of 1 instances healthy \(n1: 0\/1\)/,
    },
    {
      name: "git push failing for longer than its window",
      rule: rule("git-trouble"),
      timeline: [
        [t0, pushFail],
        [t0 + 121 * s, pushFail],
        [t0 + 130 * s, none],
        [t0 + 191 * s, none],
      ],
      want: [
        "firing the reconciler cannot push the desired branch",
        "resolved the reconciler can push the desired branch again",
      ],
      cause: /permission denied/,
    },
  ];
  it.each(cases)("$name", ({ rule: r, timeline, want, cause }) => {
    const { sent, states } = run([r], timeline);
    expect(kinds(sent)).toEqual(want);
    expect(sent[0]?.cause).toMatch(cause);
    expect(sent[0]?.fingerprint).toBe(sent[1]?.fingerprint);
    expect(states.size).toBe(0);
  });

  it("links a node's alert to the node's page, an app's to the app's, the rest to the overview", () => {
    const path = (r: Rule, f: Facts) => step([r], new Map(), f, t0).notifications[0]?.path;
    expect(
      path(rule("node-lost"), { ...none, nodes: [{ node: "edge/1", liveness: "lost", lastSeen: t0 }] }),
    ).toBe("/nodes/edge%2F1");
    expect(path(rule("crash-loop"), crash)).toBe("/apps/web");
    expect(path(rule("deploy-failed"), { ...none, apps: [failedApp("web")] })).toBe("/apps/web");
    expect(path(rule("invalid-commit"), bad("a".repeat(40)))).toBe("/");
  });
});

describe("debouncing and storms", () => {
  it("1,000 failures of one kind in a minute make one message, plus reminders at the interval", () => {
    const r = rule("deploy-failed", { repeatMs: 20 * s, resolveMs: 30 * s });
    const timeline: [number, Facts][] = [];
    // Flapping every 60 ms: failing, retrying (clear), failing again, with a cause that changes.
    for (let i = 0; i < 1000; i++) {
      timeline.push([
        t0 + i * 60,
        { ...none, apps: [failedApp("web", "n1", `attempt ${i}: exit 1 after ${i * 60} ms`)] },
      ]);
      timeline.push([t0 + i * 60 + 30, { ...none, apps: [app("web", "n1", { healthy: 0 })] }]);
    }
    const { sent, states } = run([r], timeline);
    expect(kinds(sent)).toEqual([
      "firing deploy of app web failed",
      "reminder deploy of app web failed",
      "reminder deploy of app web failed",
    ]);
    // At the first tick the failure holds once 20 s have passed (ticks are 30 ms apart here).
    expect((sent[1]?.at ?? 0) - (t0 + 20 * s)).toBeGreaterThanOrEqual(0);
    expect((sent[1]?.at ?? 0) - (t0 + 20 * s)).toBeLessThan(100);
    expect(new Set(sent.map((n) => n.fingerprint)).size).toBe(1);
    // Then it stays clear: exactly one resolved, 30 s after the last failure.
    const after = run(
      [r],
      [
        [t0 + 60 * s, none],
        [t0 + 89 * s, none],
        [t0 + 91 * s, none],
        [t0 + 500 * s, none],
      ],
      states,
    );
    expect(kinds(after.sent)).toEqual(["resolved app web deployed"]);
  });

  it("a condition cleared before its window never notifies", () => {
    const r = rule("git-trouble");
    const trouble: Facts = {
      ...none,
      git: [{ op: "fetch", branch: "tracked", message: "timeout", since: t0 }],
    };
    const { sent, states } = run(
      [r],
      [
        [t0, trouble],
        [t0 + 119 * s, trouble],
        [t0 + 120 * s - 1, none],
      ],
    );
    expect(sent).toEqual([]);
    expect(states.size).toBe(0);
  });

  it("100 apps failing at once make one message per app; one app failing on 3 nodes makes one", () => {
    const r = rule("deploy-failed");
    const apps = Array.from({ length: 100 }, (_, i) => failedApp(`app-${i}`));
    const { sent } = run(
      [r],
      [
        [t0, { ...none, apps }],
        [t0 + 5 * s, { ...none, apps }],
      ],
    );
    expect(sent).toHaveLength(100);
    expect(new Set(sent.map((n) => n.subject.app)).size).toBe(100);
    const one = run([r], [[t0, { ...none, apps: ["n1", "n2", "n3"].map((n) => failedApp("web", n)) }]]);
    expect(one.sent).toHaveLength(1);
    expect(one.sent[0]?.cause).toBe("n1/web-0: exit code 1; n2/web-0: exit code 1; n3/web-0: exit code 1");
  });

  it("fingerprints depend on rule and subject only", () => {
    expect(fingerprint("deploy-failed", { app: "web" })).toBe(fingerprint("deploy-failed", { app: "web" }));
    expect(fingerprint("deploy-failed", { app: "web" })).not.toBe(
      fingerprint("deploy-failed", { app: "api" }),
    );
    expect(fingerprint("a", { op: "push", branch: "x" })).toBe(fingerprint("a", { branch: "x", op: "push" }));
  });
});

describe("restarts, filters, removed rules, schedule", () => {
  it("state that went through JSON fires nothing again; a later clear resolves once", () => {
    const r = rule("node-lost", { resolveMs: 0 });
    const lost: Facts = { ...none, nodes: [{ node: "n1", liveness: "lost", lastSeen: null }] };
    const first = run([r], [[t0, lost]]);
    expect(first.sent).toHaveLength(1);
    const restored = new Map(Object.entries(JSON.parse(JSON.stringify(Object.fromEntries(first.states)))));
    const again = run(
      [r],
      [
        [t0 + 60 * s, lost],
        [t0 + 61 * s, lost],
      ],
      restored as Map<string, AlertState>,
    );
    expect(again.sent).toEqual([]);
    const back = run([r], [[t0 + 62 * s, none]], again.states);
    expect(kinds(back.sent)).toEqual(["resolved node n1 is back"]);
  });

  it("rules filter by app and node and name their receivers", () => {
    const r = rule("deploy-failed", { apps: ["web"], receivers: ["ops"] });
    const { sent } = run([r], [[t0, { ...none, apps: [failedApp("web"), failedApp("api")] }]]);
    expect(sent.map((n) => [n.subject.app, n.receivers])).toEqual([["web", ["ops"]]]);
  });

  it("an open alert whose rule left berth.yaml closes once, saying so", () => {
    const r = rule("crash-loop");
    const crash: Facts = {
      ...none,
      apps: [app("web", "n1", { crashLooping: [{ id: "web-0", cause: "x" }] })],
    };
    const { states } = run([r], [[t0, crash]]);
    const gone = run(
      [],
      [
        [t0 + s, crash],
        [t0 + 2 * s, crash],
      ],
      states,
    );
    expect(kinds(gone.sent)).toEqual(["resolved app web no longer crash-loops"]);
    expect(gone.sent[0]?.cause).toBe("rule crash-loop was removed from berth.yaml");
  });

  it("says when it must run again: end of a window or the next reminder", () => {
    const r = rule("app-unhealthy", { forMs: 60 * s, repeatMs: 3600 * s });
    const sick: Facts = { ...none, apps: [app("web", "n1", { healthy: 0 })] };
    const a = run([r], [[t0, sick]]);
    expect(nextDue([r], a.states)).toBe(t0 + 60 * s);
    const b = run([r], [[t0 + 60 * s, sick]], a.states);
    expect(nextDue([r], b.states)).toBe(t0 + 3660 * s);
    expect(nextDue([r], new Map())).toBeNull();
  });

  it("parses durations and applies defaults; every kind is on when only receivers are configured", () => {
    expect([
      parseDuration("0"),
      parseDuration("250ms"),
      parseDuration("30s"),
      parseDuration("5m"),
      parseDuration("4h"),
    ]).toEqual([0, 250, 30_000, 300_000, 14_400_000]);
    expect(() => parseDuration("5 minutes")).toThrow(/invalid duration "5 minutes"/);
    expect(normalizeRules(undefined).map((r) => r.name)).toEqual([
      "node-lost",
      "deploy-failed",
      "crash-loop",
      "app-unhealthy",
      "invalid-commit",
      "git-trouble",
    ]);
    expect(
      normalizeRules([{ kind: "app-unhealthy", name: "web-slow", for: "10m", repeatInterval: "4h" }]),
    ).toEqual([
      {
        name: "web-slow",
        kind: "app-unhealthy",
        forMs: 600_000,
        resolveMs: 300_000,
        repeatMs: 14_400_000,
        receivers: [],
      },
    ]);
  });
});

describe("announced trouble (degraded / recovered events)", () => {
  it("a degraded problem is a git-trouble alert until it recovers", () => {
    const r = rule("git-trouble", { forMs: 0, resolveMs: 0 });
    const degraded: Facts = {
      ...none,
      git: [
        {
          op: "degraded",
          branch: "publish-failing",
          message: "publishing has failed for 5 minutes",
          since: t0,
        },
      ],
    };
    const { sent } = run(
      [r],
      [
        [t0, degraded],
        [t0 + s, degraded],
        [t0 + 2 * s, none],
      ],
    );
    expect(kinds(sent)).toEqual([
      "firing the reconciler is degraded: publish-failing",
      "resolved the reconciler recovered: publish-failing",
    ]);
    expect(sent[0]?.subject).toEqual({ op: "degraded", problem: "publish-failing" });
  });
});

describe("what the facts cannot tell", () => {
  it("a stale node neither opens node-lost nor closes it (a restarted reconciler sees every node stale)", () => {
    const r = rule("node-lost", { resolveMs: 0 });
    const at = (liveness: "alive" | "stale" | "lost"): Facts => ({
      ...none,
      nodes: [{ node: "n1", liveness, lastSeen: t0 }],
    });
    expect(
      run(
        [r],
        [
          [t0, at("stale")],
          [t0 + s, at("stale")],
        ],
      ).sent,
    ).toEqual([]);
    const { sent } = run(
      [r],
      [
        [t0, at("lost")],
        [t0 + 10 * s, at("stale")],
        [t0 + 100 * s, at("stale")],
        [t0 + 101 * s, at("lost")],
        [t0 + 200 * s, at("alive")],
      ],
    );
    expect(kinds(sent)).toEqual(["firing node n1 is lost", "resolved node n1 is back"]);
    expect(sent[1]?.at).toBe(t0 + 200 * s);
  });
});

describe("a tip not checked yet", () => {
  it("neither opens nor resolves invalid-commit (a restarted reconciler has not re-read the tip)", () => {
    const r = rule("invalid-commit");
    const bad: Facts = {
      ...none,
      rejected: { branch: "main", commit: "a".repeat(40), errors: 1, diagnostics: ["x"] },
    };
    const unchecked: Facts = { ...none, tipChecked: false, trackedBranch: "main" };
    const first = run([r], [[t0, bad]]);
    expect(kinds(first.sent)).toHaveLength(1);
    const restarted = run(
      [r],
      [
        [t0 + s, unchecked],
        [t0 + 2 * s, unchecked],
      ],
      first.states,
    );
    expect(restarted.sent).toEqual([]);
    expect([...restarted.states.values()].map((x) => x.status)).toEqual(["firing"]);
    expect(run([r], [[t0, { ...bad, tipChecked: false, trackedBranch: "main" }]]).sent).toEqual([]);
    expect(kinds(run([r], [[t0 + 3 * s, none]], restarted.states).sent)).toEqual([
      "resolved the tip of main is valid again",
    ]);
  });
});
