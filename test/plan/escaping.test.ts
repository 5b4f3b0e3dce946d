// Text that came from a user never forges lines, recolours a terminal or reorders what a reviewer
// reads: control characters, line separators and bidirectional controls in file names, YAML keys,
// images, commit subjects and agent messages go through every renderer — the plan's text,
// markdown (PR comments) and JSON views, diagnostics (`berth validate`, text and --json), commit
// status descriptions, `berth status`, `berth events`, `berth history`, `berth up`'s progress
// lines, `berth alerts` and the alert receivers' chat messages, the operations page's HTML helper,
// and the reconciler's JSON log lines — and come out escaped (visible as \n, \x1b, \u{202e})
// or, for JSON, exact.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderAlerts } from "../../cli/alerts-view.js";
import { eventLine } from "../../cli/commands/events.js";
import { renderStatus } from "../../cli/status-view.js";
import { describeAgentEvent, describeEvent } from "../../cli/up/progress.js";
import { discordBody, slackBody, teamsBody } from "../../core/alerts/payloads.js";
import type { Notification } from "../../core/alerts/types.js";
import { diagnosticPlace, formatDiagnostic, loadFromFiles } from "../../core/config/index.js";
import type { Config } from "../../core/config/model.js";
import { oneLine } from "../../core/escape.js";
import { Evaluator } from "../../core/evaluate.js";
import { computePlan, type PlanInput } from "../../core/plan/index.js";
import { summarise } from "../../core/status/summary.js";
import { renderJson } from "../../core/views/json.js";
import { renderMarkdown } from "../../core/views/markdown.js";
import { renderText } from "../../core/views/text.js";
import { planStatus } from "../../reconciler/pr/status-text.js";
import { createReconciler } from "../../reconciler/reconciler.js";
import { html } from "../../reconciler/ui/html.js";
import type { Diagnostic, NodeStatus, Plan, Side } from "../../schema/index.js";
import { runBerth } from "../helpers/berth-cli.js";
import { makeRepo } from "../helpers/git-repo.js";
import { baseConfig, memoryLogger, recordingSink } from "../reconciler/helpers.js";
import { app, config, loaded, node } from "./builders.js";

// Each hostile string tries to start a line of its own that looks like berth's output.
const NL = "\nFAKE apps/x.yaml:1:1: forged line";
const CR = "\rFAKE overwritten";
const ESC = "\u001b[2J\u001b[31mFAKE red";
const BIDI = "\u202eFAKE reversed\u202c";
const LS = "\u2028FAKE separator";
const hostile = `x${NL}${CR}${ESC}${BIDI}${LS}`;

/** No line of `text` is forged, and nothing raw that a terminal or a reviewer would act on is left. */
function assertSafe(text: string, where: string): void {
  for (const line of text.split("\n"))
    expect(line.startsWith("FAKE"), `${where}: ${JSON.stringify(line)}`).toBe(false);
  expect(text, where).not.toMatch(/[\r\u001b\u202e\u202c\u2028]/);
  expect(text, where).toContain("\\n");
}

function hostilePlan(): Plan {
  const head: Config = config({
    apps: [app({ name: "web", image: `nginx:1.25${hostile}`, port: 80, env: { GREETING: hostile } })],
    nodes: [node({ name: "node-a" })],
  });
  const base: Config = config({
    apps: [app({ name: "web", image: "nginx:1.24", port: 80 })],
    nodes: [node({ name: "node-a" })],
  });
  const side = (cfg: Config, s: Side): PlanInput => {
    const ev = new Evaluator().evaluate(loaded(cfg), { branch: "main", commit: s.commit ?? "x" });
    return { side: s, config: cfg, desired: ev.desired, diagnostics: ev.diagnostics };
  };
  const plan = computePlan(
    side(base, { ref: "main", commit: "1".repeat(40), subject: `base ${hostile}` }),
    side(head, { ref: "main", commit: "2".repeat(40), subject: `head ${hostile}` }),
  );
  for (const r of plan.resources) r.file = `apps/web${hostile}.yaml`;
  return plan;
}

const badDiagnostics: Diagnostic[] = [
  {
    file: `apps/a${hostile}.yaml`,
    line: 1,
    col: 1,
    rule: "schema",
    message: `unknown field "${hostile}" in App`,
  },
];

describe("plan views", () => {
  it("text: every user string escaped, on its own line", () => {
    const plan = hostilePlan();
    expect(plan.resources.length).toBeGreaterThan(0);
    assertSafe(renderText(plan, { color: false }), "plan text");
    const invalid = computePlan(null, {
      side: { ref: "main", commit: null, subject: hostile },
      config: null,
      desired: new Map(),
      diagnostics: badDiagnostics,
    });
    assertSafe(renderText(invalid, { color: false }), "plan text, errors");
  });

  it("markdown (PR comments): escaped inside diff blocks, tables and prose", () => {
    const plan = hostilePlan();
    assertSafe(renderMarkdown(plan), "plan markdown");
    const invalid = computePlan(null, {
      side: { ref: "main", commit: null, subject: hostile },
      config: null,
      desired: new Map(),
      diagnostics: badDiagnostics,
    });
    assertSafe(renderMarkdown(invalid), "plan markdown, errors");
  });

  it("JSON: the exact strings, escaped by JSON itself", () => {
    const plan = hostilePlan();
    const text = renderJson(plan);
    expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(plan)));
    expect(text).not.toMatch(/[\r\u001b]/);
  });

  it("commit status descriptions", () => {
    const invalid = computePlan(null, {
      side: { ref: "main", commit: null, subject: hostile },
      config: null,
      desired: new Map(),
      diagnostics: badDiagnostics,
    });
    const { description } = planStatus(invalid);
    expect(description).not.toMatch(/[\n\r\u001b\u202e\u2028]/);
    expect(description).toContain("\\n");
  });
});

describe("diagnostics", () => {
  it("formatDiagnostic keeps one line whatever the file and the YAML key are", () => {
    const d = badDiagnostics[0] as Diagnostic;
    const line = formatDiagnostic(d);
    expect(line.split("\n")).toHaveLength(1);
    expect(line.startsWith(`${diagnosticPlace(d)}: `)).toBe(true);
    assertSafe(`${line}\n`, "diagnostic");
  });

  it("a YAML key with control characters, through the loader", () => {
    const r = loadFromFiles([
      { path: "apps/web.yaml", content: `kind: App\nname: web\nimage: nginx\n"im\\nage\\e[31m": x\n` },
    ]);
    const lines = r.diagnostics.map((d) => formatDiagnostic(d));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('unknown field "im\\nage\\x1b[31m"');
  });

  it("berth validate, text and --json, with a file whose name holds a newline", async () => {
    const repo = await makeRepo({
      "nodes/n1.yaml": "kind: Node\nname: n1\naddress: 10.0.0.1\nroles: [worker]\n",
      "apps/web.yaml": "kind: App\nname: web\nimage: nginx\n",
    });
    try {
      const evil = "apps/evil\nFAKE web.yaml:1:1: all good\u001b[32m.yaml";
      writeFileSync(join(repo.dir, evil), "kind: App\nname: evil\nimage: nginx\nreplicas: -1\n");
      const text = await runBerth(["validate", "--repo", repo.dir]);
      expect(text.code).toBe(1);
      assertSafe(text.stdout, "berth validate");
      expect(text.stdout).toContain(
        "apps/evil\\nFAKE web.yaml:1:1: all good\\x1b[32m.yaml:4:11: replicas must be >= 0",
      );
      const json = await runBerth(["validate", "--repo", repo.dir, "--json"]);
      expect(JSON.parse(json.stdout)[0].file).toBe(evil);
    } finally {
      await repo.cleanup();
    }
  });
});

describe("status, events, history and progress lines", () => {
  it("berth status shows an agent's hostile error text escaped", () => {
    const hash = `sha256:${"a".repeat(64)}`;
    const status: NodeStatus = {
      node: "node-a",
      agentVersion: "1",
      desiredHash: hash,
      appliedHash: null,
      appliedCommit: null,
      phase: "failed",
      workloads: [
        {
          id: "web-0",
          app: "web",
          state: "failed",
          health: "unhealthy",
          specHash: null,
          operation: {
            status: "backoff",
            step: `start ${hostile}`,
            attempt: 2,
            retryable: true,
            lastError: hostile,
          },
        },
      ],
      ingress: null,
      problems: [{ code: "x", message: hostile }],
    };
    const doc = {
      apiVersion: "berth/v1",
      node: "node-a",
      source: { branch: "main", commit: "1".repeat(40) },
      hash,
      workloads: [
        {
          id: "web-0",
          app: "web",
          replica: 0,
          runtime: "podman",
          image: "i",
          env: {},
          port: 80,
          hostPort: 20000,
          volumes: [],
          strategy: "start-first",
          specHash: `sha256:${"b".repeat(64)}`,
        },
      ],
      routes: [],
    };
    const summary = summarise({
      desired: new Map([["node-a", doc as never]]),
      statuses: new Map([["node-a", status]]),
      published: {
        generation: 1,
        commit: "1".repeat(40),
        rejected: { commit: "2".repeat(40), at: "", errors: 1, diagnostics: badDiagnostics },
        health: {
          status: "degraded",
          problems: [{ problem: "publish-failing", message: hostile, since: "" }],
        },
      },
    });
    assertSafe(
      renderStatus(summary, (_s, t) => t, Date.now()),
      "berth status",
    );
  });

  it("berth events (text) and berth up's progress lines", () => {
    assertSafe(
      `${eventLine("rejected", { data: { commit: "c", subject: hostile, diagnostics: badDiagnostics } }, (_s, t) => t)}\n`,
      "berth events",
    );
    const paint = (_s: string, t: string) => t;
    const rejected = describeEvent(
      { id: "1", type: "rejected", time: "", data: { commit: "c", diagnostics: badDiagnostics } },
      paint as never,
    );
    assertSafe(`${rejected}\n`, "berth up rejected");
    const failed = describeAgentEvent(
      {
        type: "action-failed",
        reason: hostile,
        cause: { where: "workload", message: hostile },
        retryInMs: 0,
      } as never,
      paint as never,
    );
    assertSafe(`${failed}\n`, "berth up failed action");
  });

  it("berth history with a commit subject holding escape and bidi characters", async () => {
    // A subject cannot hold a newline, but it can hold ESC, CR and bidi controls.
    const repo = await makeRepo(baseConfig(), { message: "deploy\u001b[2J\u202eFAKE\rFAKE reversed" });
    const r = await createReconciler({
      repoDir: repo.dir,
      events: recordingSink(),
      logger: memoryLogger().logger,
    });
    try {
      await r.start();
      await r.idle();
      expect(r.published().generation).toBe(1);
    } finally {
      await r.stop();
    }
    try {
      const out = await runBerth(["history", "--repo", repo.dir]);
      expect(out.code).toBe(0);
      expect(out.stdout).toContain("deploy\\x1b[2J\\u{202e}FAKE\\rFAKE reversed");
      expect(out.stdout).not.toMatch(/[\u001b\u202e\r]/);
    } finally {
      await repo.cleanup();
    }
  });

  it("berth alerts and the chat messages of alert receivers (Slack, Discord, Teams)", () => {
    const view = {
      enabled: true,
      branch: "berth/alerts",
      alerts: [
        {
          fingerprint: "0".repeat(16),
          rule: `r${hostile}`,
          kind: "deploy-failed",
          subject: { app: "web" },
          status: "firing" as const,
          summary: `deploy of app web failed${hostile}`,
          cause: `node-a/web-0: ${hostile}`,
          link: null,
          since: "2026-01-01T00:00:00.000Z",
          firedAt: "2026-01-01T00:00:00.000Z",
        },
      ],
      pending: [],
      undelivered: 0,
      receivers: [{ name: `rec${hostile}`, kind: "slack", ok: false, problem: hostile }],
    };
    assertSafe(
      renderAlerts(view, (_s, t) => t),
      "berth alerts",
    );
    const n: Notification = {
      kind: "firing",
      fingerprint: "0".repeat(16),
      rule: "r",
      ruleKind: "deploy-failed",
      subject: { app: "web" },
      summary: `deploy of app web failed${hostile}`,
      cause: `node-a/web-0: ${hostile}`,
      path: "/apps/web",
      startedAt: 0,
      at: 0,
      receivers: [],
    };
    const texts = [
      String(slackBody(n, null).text),
      String(discordBody(n, null).content),
      JSON.stringify(teamsBody(n, null)),
    ];
    // The chat services render their own markup: no raw control, separator or bidi character, and
    // the message keeps its two lines (title, cause) whatever the cause holds.
    for (const t of texts.slice(0, 2)) {
      expect(t).not.toMatch(/[\r\u001b\u202e\u202c\u2028]/);
      for (const line of t.split("\n")) expect(line.startsWith("FAKE"), line).toBe(false);
      expect(t.split("\n").length).toBe(2);
    }
    expect(JSON.parse(texts[2] as string).text).not.toMatch(/[\n\r\u001b\u202e\u2028]/);
  });

  it("the operations page (HTML): markup escaped, bidi controls shown", () => {
    const page = html`<td>${`<b>${hostile}</b>`}</td>`.text;
    expect(page).not.toMatch(/<b>|[\u001b\u202e\u202c]/);
    expect(page).toContain("&lt;b&gt;");
    expect(page).toContain("\\u{202e}FAKE reversed");
  });

  it("log lines stay one JSON object per line", () => {
    const log = memoryLogger();
    log.logger.warn(
      { file: badDiagnostics[0]?.file, diagnostics: [formatDiagnostic(badDiagnostics[0] as Diagnostic)] },
      hostile,
    );
    const lines = log.lines.join("").split("\n").filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string).msg).toBe(hostile);
  });

  it("oneLine escapes each kind of character the same visible way", () => {
    expect(oneLine("a\nb\rc\td\u001be\u202ef\u2028g\u0000h\u009bi")).toBe(
      "a\\nb\\rc\\td\\x1be\\u{202e}f\\u{2028}g\\u{0}h\\u{9b}i",
    );
  });
});
