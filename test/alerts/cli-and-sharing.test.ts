// `berth alerts` (text and --json) against a real reconciler with an open alert; `berth serve`
// refusing a bad --alert-secrets-file without echoing any value; and two reconcilers sharing one
// config repo (two AlertServices, each with its own view of the repo, deciding the same
// transition at once) sending the firing message once between them.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { AlertService } from "../../reconciler/alerts/service.js";
import { openLocalSource } from "../../reconciler/source/local.js";
import { runBerth } from "../helpers/berth-cli.js";
import { makeTempDir, useTempRepos } from "../helpers/git-repo.js";
import { requireTool } from "../helpers/tools.js";
import { waitFor } from "../reconciler/helpers.js";
import { MemoryBackend } from "../reconciler/http/memory-backend.js";
import { type Bed, startBed } from "./bed.js";
import { type Recorder, startRecorder } from "./recorder.js";

const ok = requireTool("git");
let bed: Bed | undefined;
const recorders: Recorder[] = [];
afterEach(async () => {
  await bed?.close();
  bed = undefined;
  for (const r of recorders.splice(0)) await r.close();
});

describe.skipIf(!ok)("berth alerts", () => {
  it("lists the open alert with its cause and link, as text and as JSON", async () => {
    const rec = await startRecorder("ok");
    recorders.push(rec);
    bed = await startBed({ receivers: [{ name: "rec", url: rec.url }], rules: ["{ kind: invalid-commit }"] });
    await bed.commitApp("invalid", "break the app");
    await waitFor("firing", () => rec.messages.length === 1);
    const text = await runBerth(["alerts", "--url", bed.api.url]);
    expect(text.stderr).toBe("");
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      /^FIRING\s+the tip of main is invalid: nothing is published, the last good state stays served\s+\[invalid-commit\] since \d{4}-/m,
    );
    expect(text.stdout).toMatch(/commit [0-9a-f]{12} has 1 error: apps\/web\.yaml:\d+:\d+: /);
    expect(text.stdout).toContain("https://berth.example.com/");
    expect(text.stdout).toContain("receivers: rec (webhook); undelivered: 0");
    const json = await runBerth(["--json", "alerts", "--url", bed.api.url]);
    expect(json.code).toBe(0);
    const view = JSON.parse(json.stdout);
    expect(view).toMatchObject({
      enabled: true,
      branch: "berth/alerts",
      alerts: [{ rule: "invalid-commit", status: "firing" }],
    });
  }, 120_000);

  it("says when the reconciler cannot be reached", async () => {
    const r = await runBerth(["alerts", "--url", "http://127.0.0.1:9"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("cannot reach the reconciler at http://127.0.0.1:9");
  });
});

describe.skipIf(!ok)("berth serve --alert-secrets-file", () => {
  const temp = useTempRepos();
  it("refuses a bad file naming it and the entry, never a value", async () => {
    const repo = await temp.makeRepo({ "berth.yaml": "kind: Settings\nbranch: main\n" });
    const dir = makeTempDir("berth-secrets-");
    const file = join(dir, "alert-secrets.yaml");
    writeFileSync(file, 'slack-url: "https://hooks.slack.com/services/T000/B000/SECRETVALUE"\nops-key: ""\n');
    const r = await runBerth([
      "serve",
      "--repo",
      repo.dir,
      "--listen",
      "127.0.0.1:0",
      "--alert-secrets-file",
      file,
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`${file}: entry "ops-key" must be a non-empty string`);
    expect(r.stderr).not.toContain("SECRETVALUE");
    writeFileSync(file, "slack-url: [SECRETVALUE\n");
    const bad = await runBerth([
      "serve",
      "--repo",
      repo.dir,
      "--listen",
      "127.0.0.1:0",
      "--alert-secrets-file",
      file,
    ]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(new RegExp(`${file}:\\d+:\\d+: not valid YAML`));
    expect(bad.stderr).not.toContain("SECRETVALUE");
  }, 60_000);
});

describe.skipIf(!ok)("two reconcilers on one config repo", () => {
  const temp = useTempRepos();
  it("send a transition they both decide once between them", async () => {
    const rec = await startRecorder("ok");
    recorders.push(rec);
    const repo = await temp.makeRepo({ "berth.yaml": "kind: Settings\nbranch: main\n" });
    const backend = new MemoryBackend();
    backend.branch = "main";
    const rejected = { commit: "c".repeat(40), at: new Date().toISOString(), errors: 1, diagnostics: [] };
    backend.published = () => ({ generation: 1, commit: "b".repeat(40), desiredCommit: null, rejected });
    const config = {
      alerts: {
        receivers: [{ name: "rec", kind: "webhook" as const, url: rec.url }],
        rules: [{ kind: "invalid-commit" as const }],
      },
    };
    const services = await Promise.all(
      ["host-a", "host-b"].map(async (owner) => {
        const s = new AlertService({
          secrets: new Map(),
          logger: pino({ level: process.env.BED_LOG ? "debug" : "silent", base: { owner } }),
          owner,
          tickMs: 60_000,
        });
        s.configure(config);
        // What the loop tells its observers once it has read the tracked tip.
        s.git.reconciled("rejected", 0.01);
        await s.start(backend, await openLocalSource({ repoDir: repo.dir, pollIntervalMs: 60_000 }));
        return s;
      }),
    );
    try {
      for (let i = 0; i < 5; i++) await Promise.all(services.map((s) => s.evaluate()));
      await Promise.all(services.map((s) => s.idle()));
      expect(rec.messages.map((m) => m.body.notification)).toEqual(["firing"]);
      for (const s of services)
        expect(s.view().alerts).toMatchObject([{ rule: "invalid-commit", status: "firing" }]);
      // The repair, seen by both: one resolved.
      backend.published = () => ({
        generation: 2,
        commit: "d".repeat(40),
        desiredCommit: null,
        rejected: null,
      });
      for (let i = 0; i < 5; i++) await Promise.all(services.map((s) => s.evaluate()));
      await Promise.all(services.map((s) => s.idle()));
      expect(rec.messages.map((m) => m.body.notification)).toEqual(["firing", "resolved"]);
    } finally {
      for (const s of services) await s.close();
    }
  }, 60_000);
});
