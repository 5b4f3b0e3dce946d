// `berth init` and `berth plan` end to end: the real CLI in a child process on real git repos,
// including a base read from a published desired branch.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ParseCache } from "../../core/config/index.js";
import { Evaluator } from "../../core/evaluate.js";
import { computePlan } from "../../core/plan/index.js";
import { openGitDir } from "../../reconciler/git/objects.js";
import { compareAndSwapRef } from "../../reconciler/git/refs.js";
import { loadCommit } from "../../reconciler/repo/load.js";
import { writeDesiredCommit } from "../../reconciler/store/desired-store.js";
import { validatePlan } from "../../schema/index.js";
import { runBerth } from "../helpers/berth-cli.js";
import { runGit, useTempRepos } from "../helpers/git-repo.js";
import { requireTool } from "../helpers/tools.js";

const ok = requireTool("git");

// No identity configured: berth init must still commit.
const berth = (...args: string[]) =>
  runBerth(args, { env: { GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1" } });

const lastLine = (s: string) => s.trimEnd().split("\n").at(-1);

describe.skipIf(!ok)("berth init", () => {
  const temp = useTempRepos();

  it("creates a committed repo from the single-host example with local schemas", async () => {
    const dir = join(temp.makeTempDir(), "ops");
    const r = await berth("init", dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("Next steps:");
    expect(runGit(dir, "log", "--format=%s")).toBe("Initial berth config (berth init)");
    expect(runGit(dir, "rev-parse", "--abbrev-ref", "HEAD")).toBe("main");
    expect(runGit(dir, "status", "--porcelain")).toBe("");
    expect(readFileSync(join(dir, "apps/hello.yaml"), "utf8").split("\n")[0]).toBe(
      "# yaml-language-server: $schema=../.berth/schema/app.schema.json",
    );
    expect(readFileSync(join(dir, "berth.yaml"), "utf8").split("\n")[0]).toBe(
      "# yaml-language-server: $schema=.berth/schema/settings.schema.json",
    );
    const schema = JSON.parse(readFileSync(join(dir, ".berth/schema/app.schema.json"), "utf8"));
    expect(schema.title).toBe("App");
    expect(existsSync(join(dir, ".berth/schema/common.schema.json"))).toBe(true);

    const plan = await berth("plan", "--repo", dir);
    expect(plan.code, plan.stderr).toBe(0);
    expect(lastLine(plan.stdout)).toBe("Plan: 5 to add, 0 to change, 0 to remove.");
    expect(plan.stderr).toContain("nothing published yet");
  });

  it("plan and validate warn when a proxy would dial another node's loopback", async () => {
    const dir = join(temp.makeTempDir(), "ops");
    expect((await berth("init", dir)).code).toBe(0);
    // The example's node is a proxy on 127.0.0.1; a second worker on loopback is unreachable to it.
    writeFileSync(
      join(dir, "nodes/w2.yaml"),
      "kind: Node\nname: w2\naddress: 127.0.0.1\nruntime: process\nportRange: [22000, 22999]\n",
    );
    writeFileSync(
      join(dir, "nodes/local.yaml"),
      readFileSync(join(dir, "nodes/local.yaml"), "utf8").replace("address: 127.0.0.1", "address: 10.0.0.10"),
    );
    const warning =
      "nodes/w2.yaml:3:10: warning: node w2 has the loopback address 127.0.0.1, but proxy node local runs elsewhere and would dial its own loopback for w2's workloads (502s): give w2 an address the proxies can reach";
    const plan = await berth("plan", "--repo", dir);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stderr).toContain(`berth plan: ${warning}`);
    const validate = await berth("validate", "--repo", dir);
    expect(validate.code).toBe(0);
    expect(validate.stdout + validate.stderr).toContain(warning);
  });

  it("refuses a directory that already has config", async () => {
    const dir = temp.makeTempDir();
    writeFileSync(join(dir, "web.yaml"), "kind: App\nname: web\nimage: nginx\n");
    const r = await berth("init", dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("already has config (web.yaml)");
    expect(existsSync(join(dir, "berth.yaml"))).toBe(false);
  });
});

const NODE = "kind: Node\nname: n1\naddress: 10.0.0.1\nroles: [worker, proxy]\n";
const WEB = (image: string, replicas = 1) =>
  `kind: App\nname: web\nimage: ${image}\nport: 80\nreplicas: ${replicas}\n`;
const WWW = "kind: Domain\nhost: www.example.com\napp: web\n";

describe.skipIf(!ok)("berth plan", () => {
  const temp = useTempRepos();
  const repo = () =>
    temp.makeRepo({
      "nodes/n1.yaml": NODE,
      "apps/web.yaml": WEB("nginx:1.25"),
      "domains/www.example.com.yaml": WWW,
    });

  it("plans uncommitted edits against a commit, with exit codes 0 / 2", async () => {
    const r = await repo();
    const same = await berth("plan", "--repo", r.dir, "--base", "HEAD", "--detailed-exitcode");
    expect(same).toMatchObject({ code: 0 });
    expect(lastLine(same.stdout)).toBe("No changes.");

    writeFileSync(join(r.dir, "apps/web.yaml"), WEB("nginx:1.27"));
    const changed = await berth("plan", "--repo", r.dir, "--base", "HEAD", "--detailed-exitcode");
    expect(changed.code).toBe(2);
    expect(changed.stdout).toContain("-/+ workload web-0  image nginx:1.25 → nginx:1.27");
    expect(lastLine(changed.stdout)).toBe("Plan: 0 to add, 1 to change, 0 to remove.");
    expect((await berth("plan", "--repo", r.dir, "--base", "HEAD")).code).toBe(0);
  });

  it("prints JSON valid against the plan schema with --format json and --json", async () => {
    const r = await repo();
    const head = await r.commit({ "apps/web.yaml": WEB("nginx:1.25", 2) }, "Scale web");
    for (const flags of [["--format", "json"], ["--json"]]) {
      const out = await berth("plan", "--repo", r.dir, "--base", "HEAD~1", "--head", "HEAD", ...flags);
      expect(out.code, out.stderr).toBe(0);
      const plan = JSON.parse(out.stdout);
      expect(validatePlan()(plan)).toBe(true);
      expect(plan.head).toEqual({ ref: "HEAD", commit: head, subject: "Scale web" });
      expect(plan.summary).toEqual({ add: 1, change: 1, remove: 0 });
    }
  });

  it("an invalid head prints its diagnostics and exits 1", async () => {
    const r = await repo();
    writeFileSync(join(r.dir, "apps/web.yaml"), "kind: App\nname: web\nimage: nginx\nreplicas: -1\n");
    const out = await berth("plan", "--repo", r.dir, "--base", "HEAD");
    expect(out.code).toBe(1);
    expect(out.stdout).toContain("apps/web.yaml:4:11: replicas must be >= 0");
    expect(lastLine(out.stdout)).toBe("Plan: invalid (1 error), nothing will be published.");
  });

  it("an unknown ref or format is an error that says how to fix it", async () => {
    const r = await repo();
    const ref = await berth("plan", "--repo", r.dir, "--base", "nope");
    expect(ref.code).toBe(1);
    expect(ref.stderr).toContain('ref "nope" does not exist');
    const fmt = await berth("plan", "--repo", r.dir, "--format", "yaml");
    expect(fmt.code).toBe(1);
    expect(fmt.stderr).toContain("use --format text, json or markdown");
  });

  it("defaults the base to what the desired branch last published", async () => {
    const r = await repo();
    const published = runGit(r.dir, "rev-parse", "HEAD");
    await publish(r.dir, published);
    await r.commit({ "apps/web.yaml": WEB("nginx:1.26") }, "Newer, not published");
    writeFileSync(join(r.dir, "apps/web.yaml"), WEB("nginx:1.27"));
    const out = await berth("plan", "--repo", r.dir, "--format", "markdown");
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout.split("\n")[0]).toBe("<!-- berth-plan -->");
    expect(out.stdout).toContain(`Base: \`berth/desired@${published.slice(0, 7)} "Initial config"\``);
    expect(out.stdout).toContain("image nginx:1.25 → nginx:1.27");
  });
});

/** Publishes `commit` of the repo at `dir` on berth/desired the way the reconciler stores it. */
async function publish(dir: string, commit: string): Promise<void> {
  const load = await loadCommit(dir, commit, { cache: new ParseCache() });
  const ev = new Evaluator().evaluate(load, { branch: "main", commit });
  expect(ev.valid).toBe(true);
  const plan = computePlan(null, {
    side: { ref: "main", commit },
    config: load.config,
    desired: ev.desired,
    diagnostics: [],
  });
  const gitdir = join(dir, ".git");
  const desiredCommit = await writeDesiredCommit(
    openGitDir(gitdir),
    {
      generation: 1,
      source: { branch: "main", commit, subject: load.subject },
      docs: ev.desired,
      tokens: new Map(),
      plan,
      handoffs: [],
    },
    null,
    "Publish for a test",
  );
  expect(await compareAndSwapRef(gitdir, "refs/heads/berth/desired", desiredCommit, null)).toBe(true);
}
