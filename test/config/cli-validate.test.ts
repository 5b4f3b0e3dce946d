// `berth validate` end to end: the real CLI in a child process (node --import tsx cli/main.ts)
// on both examples, a broken fixture repo, commits of a temp git repo, and bad --repo/--ref.
import { writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { runBerth } from "../helpers/berth-cli.js";
import { useTempRepos } from "../helpers/git-repo.js";
import { requireTool } from "../helpers/tools.js";
import { APP, BASE } from "./load-helpers.js";

const ok = requireTool("git");

const berth = (...args: string[]) => runBerth(args);

const lines = (s: string) => s.trimEnd().split("\n");

describe.skipIf(!ok)("berth validate (CLI)", () => {
  const temp = useTempRepos();

  it("examples/single-host is valid", async () => {
    const r = await berth("validate", "--repo", "examples/single-host");
    expect(r).toMatchObject({ code: 0, stdout: "✓ 2 apps, 2 domains, 1 node: valid\n" });
  });

  it("examples/multi-node is valid (global flag before the command)", async () => {
    const r = await berth("--repo", "examples/multi-node", "validate");
    expect(r).toMatchObject({ code: 0, stdout: "✓ 5 apps, 6 domains, 4 nodes: valid\n" });
  });

  it("a broken repo: every problem as FILE:LINE:COL: message, a summary, exit 1", async () => {
    const r = await berth("validate", "--repo", "test/fixtures/validate/broken");
    expect(r.code).toBe(1);
    expect(lines(r.stdout)).toEqual([
      'apps/web.yaml:3:1: unknown field "imagee" in App; did you mean "image"?',
      "apps/web.yaml:6:11: replicas must be >= 0",
      'domains/www.example.com.yaml:3:6: domain www.example.com routes to app "wbe", which does not exist; did you mean "web"?',
      "3 errors in 2 files",
    ]);
  });

  it("--json prints the diagnostics as JSON on stdout and the summary on stderr", async () => {
    const r = await berth("validate", "--json", "--repo", "test/fixtures/validate/broken");
    expect(r.code).toBe(1);
    const list = JSON.parse(r.stdout) as unknown[];
    expect(list).toHaveLength(3);
    expect(list[1]).toEqual({
      file: "apps/web.yaml",
      line: 6,
      col: 11,
      rule: "schema",
      message: "replicas must be >= 0",
    });
    expect(r.stderr).toBe("3 errors in 2 files\n");
  });

  it("--ref checks a commit, not the working tree", async () => {
    const repo = await temp.makeRepo(BASE);
    await repo.commit({ "apps/web.yaml": `${APP}replicas: 2\n` }, "Two replicas");
    // An uncommitted, broken edit: the working tree is invalid, the commits are not.
    writeFileSync(`${repo.dir}/apps/web.yaml`, `${APP}replicas: many\n`);
    const head = await berth("validate", "--repo", repo.dir, "--ref", "HEAD~1");
    expect(head).toMatchObject({ code: 0, stdout: "✓ 1 app, 1 domain, 1 node: valid\n" });
    const tree = await berth("validate", "--repo", repo.dir);
    expect(tree.code).toBe(1);
    expect(lines(tree.stdout)).toEqual([
      'apps/web.yaml:5:11: replicas must be a whole number, not the string "many"',
      "1 error in 1 file",
    ]);
  });

  it("warnings are printed but do not fail", async () => {
    const repo = await temp.makeRepo({ ...BASE, "apps/web.yaml": `${APP}replicas: 0\n` });
    const r = await berth("validate", "--repo", repo.dir);
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toEqual([
      'domains/www.example.com.yaml:3:6: warning: domain www.example.com routes to app "web", which has 0 replicas: requests will get 502 until it is scaled up',
      "✓ 1 app, 1 domain, 1 node: valid, 1 warning",
    ]);
  });

  it("a ref that does not exist: a clear error and exit 1", async () => {
    const repo = await temp.makeRepo(BASE);
    const r = await berth("validate", "--repo", repo.dir, "--ref", "nope");
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(lines(r.stderr)).toEqual([
      `error: ref "nope" does not exist in ${repo.dir}`,
      "hint: use a branch, tag or commit id of that repo (see git log --oneline)",
    ]);
  });

  it("a folder with no config at all", async () => {
    const dir = temp.makeTempDir();
    const r = await berth("validate", "--repo", dir);
    expect(r.code).toBe(1);
    expect(lines(r.stdout)[0]).toMatch(/^\.:1:1: no config found \(no \*\.yaml or \*\.yml file\)/);
  });

  it("a --repo that does not exist", async () => {
    const r = await berth("validate", "--repo", "/nonexistent/berth-repo");
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toEqual([
      "error: /nonexistent/berth-repo is not a directory",
      "hint: point --repo at the config repo's directory",
    ]);
  });
});
