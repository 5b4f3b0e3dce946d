// Table tests of the agent's pure planner: observed instances + desired document → the exact
// ordered actions with their reasons.
import { describe, expect, it } from "vitest";
import type { ObservedInstance } from "../../agent/core/actions.js";
import type { BackoffBook, BackoffEntry } from "../../agent/core/backoff.js";
import { type Health, type IngressSnapshot, planActions } from "../../agent/core/planner.js";
import type { Workload } from "../../schema/index.js";
import { desiredDoc, instance, workload } from "./helpers/docs.js";

const web0 = workload({ app: "web", replica: 0, runtime: "podman", image: "a:1", port: 80, hostPort: 20000 });
const web1 = workload({ app: "web", replica: 1, runtime: "podman", image: "a:1", port: 80, hostPort: 20002 });
const web0v2 = workload({
  app: "web",
  replica: 0,
  runtime: "podman",
  image: "a:2",
  port: 80,
  hostPort: 20000,
});
const web0stop = workload({ ...web0v2, strategy: "stop-first" });
const api0 = workload({ app: "api", runtime: "podman", image: "api:1", port: 80, hostPort: 20010 });
const api0env = workload({ ...api0, env: { TOKEN: "s3cret-value", LOG: "debug" } });
const ghost = workload({ app: "ghost", runtime: "podman", image: "g:1", hostPort: 20020 });

const NOW = 1_000_000;
const entry = (w: Workload, over: Partial<BackoffEntry> = {}): [string, BackoffEntry] => {
  const key = `${w.id}@${w.specHash}`;
  return [
    key,
    {
      key,
      kind: "replace",
      step: `replace ${w.id}`,
      workloadId: w.id,
      attempt: 1,
      lastError: "health check failed: HTTP 500",
      cause: { where: "workload", message: "never became healthy" },
      nextAttemptAt: NOW + 5_000,
      ...over,
    },
  ];
};

interface Case {
  name: string;
  want: Workload[];
  have: ObservedInstance[];
  health?: Record<string, Health>;
  backoff?: [string, BackoffEntry][];
  known?: Workload[];
  ingress?: IngressSnapshot;
  retiring?: Record<string, number>;
  actions: string[];
  deferred?: string[];
  draining?: { name: string; until: number }[];
}

const cases: Case[] = [
  {
    name: "converge from empty",
    want: [web0, web1],
    have: [],
    actions: [
      "create#1 web-0: create web-0: no instance running (slot a, port 20000)",
      "create#1 web-1: create web-1: no instance running (slot a, port 20002)",
    ],
  },
  {
    name: "everything right: nothing to do",
    want: [web0, web1],
    have: [instance(web0, "a"), instance(web1, "b")],
    actions: [],
  },
  {
    name: "scale down removes the orphan, an unknown workload too",
    want: [web0],
    have: [instance(web0, "a"), instance(web1, "a"), instance(ghost, "b")],
    actions: [
      "remove#1 ghost-0: remove ghost-0 (slot b): not in the desired document",
      "remove#1 web-1: remove web-1 (slot a): not in the desired document",
    ],
  },
  {
    name: "duplicate slots: keep the healthy one",
    want: [web0],
    have: [instance(web0, "a"), instance(web0, "b")],
    health: { "pid:20001": "healthy", "pid:20000": "unhealthy" },
    actions: ["remove#1 web-0: remove web-0 (slot a): duplicate of slot b"],
  },
  {
    name: "interrupted start-first: old running healthy, new exited → drop new, replace again",
    want: [web0v2],
    have: [instance(web0, "a"), instance(web0v2, "b", { state: "exited", lastError: "exit code 1" })],
    health: { "pid:20000": "healthy" },
    known: [web0],
    actions: [
      "remove#1 web-0: remove web-0 (slot b): duplicate of slot a",
      "replace#1 web-0: replace web-0: image a:1 → a:2 [start-first → b]",
    ],
  },
  {
    name: "a replaced instance drains until its time, then is removed",
    want: [web0v2],
    have: [instance(web0v2, "b"), instance(web0, "a")],
    health: { "pid:20001": "healthy", "pid:20000": "healthy" },
    retiring: { "berth-web-0-a": NOW + 1 },
    actions: [],
    draining: [{ name: "berth-web-0-a", until: NOW + 1 }],
  },
  {
    name: "drain over: removed with its reason",
    want: [web0v2],
    have: [instance(web0v2, "b"), instance(web0, "a")],
    health: { "pid:20001": "healthy", "pid:20000": "healthy" },
    retiring: { "berth-web-0-a": NOW },
    actions: ["remove#1 web-0: remove web-0 (slot a): replaced by slot b, drained"],
  },
  {
    name: "a newer spec while one drains: keep the serving one, free the draining slot for the replace",
    want: [workload({ ...web0v2, image: "a:3" })],
    have: [instance(web0v2, "b"), instance(web0, "a")],
    health: { "pid:20001": "healthy", "pid:20000": "healthy" },
    retiring: { "berth-web-0-a": NOW + 1 },
    known: [web0v2],
    actions: [
      "remove#1 web-0: remove web-0 (slot a): replaced by slot b; its slot is needed for the next replace",
      "replace#1 web-0: replace web-0: image a:2 → a:3 [start-first → a]",
    ],
  },
  {
    name: "exited instance of the right spec is restarted",
    want: [web0],
    have: [instance(web0, "a", { state: "exited", lastError: "exit code 1" })],
    actions: ["start#1 web-0: restart web-0: container exited (exit code 1)"],
  },
  {
    name: "replace start-first goes to the other slot",
    want: [web0v2],
    have: [instance(web0, "b")],
    known: [web0],
    actions: ["replace#1 web-0: replace web-0: image a:1 → a:2 [start-first → a]"],
  },
  {
    name: "replace stop-first stays in the slot",
    want: [web0stop],
    have: [instance(web0, "a")],
    known: [web0],
    actions: [
      "replace#1 web-0: replace web-0: image a:1 → a:2, strategy start-first → stop-first [stop-first → a]",
    ],
  },
  {
    name: "old spec exited: replace stop-first whatever the strategy",
    want: [web0v2],
    have: [instance(web0, "a", { state: "exited" })],
    known: [web0],
    actions: ["replace#1 web-0: replace web-0: image a:1 → a:2; old container exited [stop-first → a]"],
  },
  {
    name: "unknown old spec: hashes in the reason; env values never shown",
    want: [api0env],
    have: [instance(api0, "a")],
    known: [api0],
    actions: ["replace#1 api-0: replace api-0: env.LOG added, env.TOKEN added [start-first → b]"],
  },
  {
    name: "old spec not known",
    want: [web0v2],
    have: [instance(web0, "a")],
    actions: [
      `replace#1 web-0: replace web-0: spec ${web0.specHash.slice(7, 19)} → ${web0v2.specHash.slice(7, 19)} [start-first → b]`,
    ],
  },
  {
    name: "backing off: the replace is deferred, other work goes on",
    want: [web0v2, web1],
    have: [instance(web0, "a")],
    known: [web0],
    backoff: [entry(web0v2)],
    actions: ["create#1 web-1: create web-1: no instance running (slot a, port 20002)"],
    deferred: ["replace#2 web-0: replace web-0: image a:1 → a:2 [start-first → b]"],
  },
  {
    name: "backoff due: retried with the next attempt number",
    want: [web0v2],
    have: [instance(web0, "a")],
    known: [web0],
    backoff: [entry(web0v2, { attempt: 3, nextAttemptAt: NOW })],
    actions: ["replace#4 web-0: replace web-0: image a:1 → a:2 [start-first → b]"],
  },
  {
    name: "running the right spec but never healthy: restart after backoff",
    want: [web0],
    have: [instance(web0, "a")],
    backoff: [entry(web0, { kind: "create", nextAttemptAt: NOW - 1 })],
    actions: ["start#2 web-0: restart web-0: never became healthy (health check failed: HTTP 500)"],
  },
  {
    name: "failure entry but the instance turned healthy: nothing to do",
    want: [web0],
    have: [instance(web0, "a")],
    health: { "pid:20000": "healthy" },
    backoff: [entry(web0, { kind: "create", nextAttemptAt: NOW - 1 })],
    actions: [],
  },
  {
    name: "routes load when the running Caddy config differs",
    want: [],
    have: [],
    ingress: { config: { x: 1 }, hash: "sha256:new", routeCount: 2, runningHash: "sha256:old" },
    actions: ["routes#1 : routes: load Caddy config with 2 routes (running config differs)"],
  },
  {
    name: "routes: nothing when Caddy runs our config",
    want: [],
    have: [],
    ingress: { config: { x: 1 }, hash: "sha256:same", routeCount: 1, runningHash: "sha256:same" },
    actions: [],
  },
  {
    name: "SPEC §6 order: remove → start → create → replace → routes",
    want: [api0env, web0v2, web1],
    have: [
      instance(ghost, "a"),
      instance(web1, "a", { state: "exited", lastError: "exit code 2" }),
      instance(web0, "a"),
    ],
    known: [web0],
    ingress: { config: {}, hash: "sha256:h", routeCount: 1, runningHash: null },
    actions: [
      "remove#1 ghost-0: remove ghost-0 (slot a): not in the desired document",
      "start#1 web-1: restart web-1: container exited (exit code 2)",
      "create#1 api-0: create api-0: no instance running (slot a, port 20010)",
      "replace#1 web-0: replace web-0: image a:1 → a:2 [start-first → b]",
      "routes#1 : routes: load Caddy config with 1 route (Caddy runs no config)",
    ],
  },
];

const show = (a: ReturnType<typeof planActions>["actions"][number]): string => {
  const tail = a.kind === "replace" ? ` [${a.strategy} → ${a.slot}]` : "";
  return `${a.kind}#${a.attempt} ${a.workloadId}: ${a.reason}${tail}`;
};

describe("planActions", () => {
  for (const c of cases) {
    it(c.name, () => {
      const containers = c.have.map((i) => ({ ...i, runtime: "podman" as const }));
      const result = planActions({
        desired: desiredDoc("node-a", c.want),
        instances: containers,
        health: new Map(Object.entries(c.health ?? {})),
        knownSpecs: new Map((c.known ?? []).map((w) => [w.specHash, w])),
        backoff: new Map(c.backoff ?? []) as BackoffBook,
        retiring: new Map(Object.entries(c.retiring ?? {})),
        now: NOW,
        ingress: c.ingress ?? null,
      });
      expect(result.actions.map(show)).toEqual(c.actions);
      expect(result.deferred.map((d) => show(d.action))).toEqual(c.deferred ?? []);
      expect(result.draining).toEqual(c.draining ?? []);
    });
  }

  it("never puts an env value in a reason", () => {
    const result = planActions({
      desired: desiredDoc("node-a", [api0env]),
      instances: [instance(api0, "a")],
      health: new Map(),
      knownSpecs: new Map([[api0.specHash, api0]]),
      backoff: new Map(),
      retiring: new Map(),
      now: NOW,
      ingress: null,
    });
    expect(result.actions.map((a) => a.reason).join("\n")).not.toContain("s3cret-value");
  });
});
