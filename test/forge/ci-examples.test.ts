// The CI examples (examples/ci) really work: their YAML parses, they run `berth plan --base
// origin/<target> --format markdown`, and their comment-posting scripts — run as written with
// node against the recording forge — create ONE comment and then update it in place, finding it
// again by the marker across pages. The GitHub case plans a real clone with the berth CLI first.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { PLAN_MARKER } from "../../reconciler/forge/client.js";
import { type RecordingForge, startRecordingForge } from "../helpers/recording-forge.js";
import { requireTool } from "../helpers/tools.js";
import { makeForgeRepo } from "./git-fixture.js";
import { app, baseFiles } from "./pr-fixture.js";

const exec = promisify(execFile);
const ok = requireTool("git");
const root = fileURLToPath(new URL("../..", import.meta.url));
const cli = join(root, "cli/main.ts");
const tsx = join(root, "node_modules/tsx/dist/esm/index.mjs");

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The JavaScript of a `node --input-type=module - <<'JS' … JS` heredoc in a shell script. */
function heredoc(script: string): string {
  const m = /<<'JS'\n([\s\S]*?)\nJS(\n|$)/.exec(script);
  if (!m?.[1]) throw new Error("no <<'JS' heredoc in the script");
  return m[1];
}

async function runScript(js: string, cwd: string, env: Record<string, string>): Promise<string> {
  const child = execFile("node", ["--input-type=module", "-"], {
    cwd,
    env: { PATH: process.env.PATH ?? "", ...env },
  });
  child.stdin?.end(js);
  let out = "";
  let err = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const code = await new Promise<number | null>((r) => child.on("close", r));
  if (code !== 0) throw new Error(`script exited ${code}: ${err}`);
  return out;
}

async function forgeOf(kind: "github" | "gitlab"): Promise<RecordingForge> {
  const f = await startRecordingForge({ kind });
  cleanups.push(() => f.close());
  return f;
}

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "berth-ci-"));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

describe.skipIf(!ok)("examples/ci", () => {
  it("GitHub Actions: berth plan on a clone, then one comment created and updated", async () => {
    const wf = parse(readFileSync(join(root, "examples/ci/github-actions.yml"), "utf8"));
    const steps = wf.jobs.plan.steps as { name?: string; run?: string }[];
    const planStep = steps.find((s) => s.name === "berth plan")?.run ?? "";
    // The base is the pull request's target branch, as GitHub Actions expands it.
    const baseExpr = ["$", "{{ github.base_ref }}"].join("");
    expect(planStep).toContain(`plan --base "origin/${baseExpr}" --format markdown > plan.md`);
    const js = heredoc(steps.find((s) => s.name === "Create or update the plan comment")?.run ?? "");

    // A config repo on a real git server; the CI checkout is a clone on the pull request's head.
    const repo = await makeForgeRepo();
    cleanups.push(() => repo.cleanup());
    await repo.commit(baseFiles, "base");
    await repo.push("refs/heads/main");
    const ci = tempDir();
    await exec("git", ["clone", "-q", repo.url, join(ci, "checkout")]);
    const checkout = join(ci, "checkout");
    writeFileSync(join(checkout, "apps/api.yaml"), app("api", "example/api:1.0"));
    // What the workflow's plan step runs (berth from this checkout instead of npx).
    const plan = await exec(
      "node",
      ["--import", tsx, cli, "plan", "--base", "origin/main", "--format", "markdown"],
      {
        cwd: checkout,
      },
    );
    writeFileSync(join(checkout, "plan.md"), plan.stdout);
    expect(plan.stdout.startsWith(PLAN_MARKER)).toBe(true);

    const forge = await forgeOf("github");
    for (let i = 0; i < 120; i++) forge.addComment(5, `review comment ${i}`); // two pages of 100
    const env = {
      GITHUB_API_URL: forge.url,
      GITHUB_REPOSITORY: forge.repo,
      GITHUB_TOKEN: forge.token,
      PR_NUMBER: "5",
    };
    expect(await runScript(js, checkout, env)).toContain("created the plan comment");
    writeFileSync(join(checkout, "plan.md"), `${PLAN_MARKER}\n### No changes.\n`);
    expect(await runScript(js, checkout, env)).toMatch(/updated comment \d+/);
    const ours = forge.comments(5).filter((c) => c.body.startsWith(PLAN_MARKER));
    expect(ours).toHaveLength(1);
    expect(ours[0]?.body).toContain("No changes.");
    expect(forge.requests.every((r) => r.authOk)).toBe(true);
  });

  it("GitLab CI: one note created and updated, system notes ignored", async () => {
    const ci = parse(readFileSync(join(root, "examples/ci/gitlab-ci.yml"), "utf8"));
    const script = (ci["berth-plan"].script as string[]).join("\n");
    expect(script).toContain(
      'plan --base "origin/$CI_MERGE_REQUEST_TARGET_BRANCH_NAME" --format markdown > plan.md',
    );
    const js = heredoc(script);

    const forge = await forgeOf("gitlab");
    forge.addComment(9, `${PLAN_MARKER}\nmentioned in a system note`, { system: true });
    const dir = tempDir();
    writeFileSync(join(dir, "plan.md"), `${PLAN_MARKER}\n### Plan: 1 to add, 0 to change, 0 to remove.\n`);
    const env = {
      CI_API_V4_URL: forge.url,
      CI_PROJECT_ID: encodeURIComponent(forge.repo),
      CI_MERGE_REQUEST_IID: "9",
      BERTH_GITLAB_TOKEN: forge.token,
    };
    expect(await runScript(js, dir, env)).toContain("created the plan note");
    writeFileSync(join(dir, "plan.md"), `${PLAN_MARKER}\n### No changes.\n`);
    expect(await runScript(js, dir, env)).toMatch(/updated note \d+/);
    const ours = forge.comments(9).filter((c) => !c.system);
    expect(ours).toHaveLength(1);
    expect(ours[0]?.body).toContain("No changes.");
  });

  it("posts nothing when berth failed before planning", async () => {
    const ci = parse(readFileSync(join(root, "examples/ci/gitlab-ci.yml"), "utf8"));
    const js = heredoc((ci["berth-plan"].script as string[]).join("\n"));
    const forge = await forgeOf("gitlab");
    const dir = tempDir();
    writeFileSync(join(dir, "plan.md"), "error: cannot read the repo\n");
    const out = await runScript(js, dir, {
      CI_API_V4_URL: forge.url,
      CI_PROJECT_ID: encodeURIComponent(forge.repo),
      CI_MERGE_REQUEST_IID: "1",
      BERTH_GITLAB_TOKEN: forge.token,
    });
    expect(out).toContain("nothing posted");
    expect(forge.requests).toHaveLength(0);
  });
});
