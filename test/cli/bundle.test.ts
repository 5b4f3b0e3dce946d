// The `berth` executable as shipped: the bundle scripts/bundle.mjs writes (dist/bin/main.js, what
// package.json's bin runs), built here into a fresh directory inside the project (so it finds
// node_modules and examples/ as the installed package does). Every other test runs the sources
// through tsx; this one checks what bundling could break: lazily loaded commands, files found next
// to the code (the page's assets, the example `berth init` copies), JSON imported at build time,
// and a serve + agent pair converging. Anything the whole suite checks can also be run against
// the bundle: BERTH_TEST_CLI=dist/bin/main.js npx vitest run test/…
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectRoot, runBerth } from "../helpers/berth-cli.js";
import { makeTempDir } from "../helpers/git-repo.js";
import { randomPortBase } from "../helpers/ports.js";
import { type Cluster, converged, exampleDir, startCluster } from "../ui/helpers.js";

const outdir = join(projectRoot, ".bundle-test", String(process.pid));
let cli: string;
const temps: string[] = [];

beforeAll(() => {
  execFileSync(process.execPath, [join(projectRoot, "scripts/bundle.mjs"), outdir], { stdio: "pipe" });
  cli = join(outdir, "main.js");
});

afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

describe("the bundled berth executable", () => {
  it("is a few files, not one per source module", () => {
    const files = execFileSync("find", [outdir, "-name", "*.js"], { encoding: "utf8" }).trim().split("\n");
    // One per command at most, plus shared chunks: far fewer than the ~300 modules tsc writes.
    expect(files.length).toBeGreaterThan(1);
    expect(files.length).toBeLessThan(120);
    expect(readFileSync(cli, "utf8").startsWith("#!/usr/bin/env node\n")).toBe(true);
  });

  it("prints its version, read from package.json at build time", async () => {
    const pkg = JSON.parse(readFileSync(join(projectRoot, "package.json"), "utf8")) as { version: string };
    const r = await runBerth(["--version"], { cli });
    expect(r).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
  });

  it("validates a repo, and reports a broken one at FILE:LINE:COL with exit 1", async () => {
    const ok = await runBerth(["validate", "--repo", exampleDir], { cli });
    expect(ok).toMatchObject({ code: 0, stdout: "✓ 2 apps, 2 domains, 1 node: valid\n" });
    const broken = makeTempDir("berth-bundle-broken-");
    temps.push(broken);
    execFileSync("cp", ["-r", `${exampleDir}/.`, broken]);
    const app = join(broken, "apps/hello.yaml");
    writeFileSync(app, readFileSync(app, "utf8").replace(/replicas: \d+/, "replicas: many"));
    const bad = await runBerth(["validate", "--repo", broken], { cli });
    expect(bad.code).toBe(1);
    expect(bad.stdout + bad.stderr).toMatch(/apps\/hello\.yaml:\d+:\d+: .*replicas/);
    expect(bad.stderr).not.toMatch(/\n\s+at /); // no stack trace for a user's mistake
  });

  it("prints a schema (JSON bundled in) and copies the example with init", async () => {
    const schema = await runBerth(["schema", "app"], { cli });
    expect(schema.code).toBe(0);
    expect(JSON.parse(schema.stdout)).toMatchObject({ title: "App" });
    const dir = join(makeTempDir("berth-bundle-init-"), "infra");
    temps.push(dir);
    const init = await runBerth(["init", dir], { cli });
    expect(init.code, init.stderr).toBe(0);
    expect(existsSync(join(dir, "berth.yaml"))).toBe(true);
    expect((await runBerth(["validate", "--repo", dir], { cli })).code).toBe(0);
  });

  describe("serve and agent", () => {
    let c: Cluster | undefined;
    afterAll(async () => {
      await c?.cleanup();
    });

    it("converge a node, and serve the page with its assets", async () => {
      c = await startCluster(randomPortBase(), { cli });
      await converged(c, c.repo.git("rev-parse", "HEAD"));
      const page = await fetch(`${c.url}/`, { headers: { authorization: `Bearer ${c.adminToken}` } });
      const html = await page.text();
      expect(page.status, html.slice(0, 300)).toBe(200);
      const css = html.match(/\/ui\/assets\/style\.css\?v=[0-9a-f]+/)?.[0];
      expect(css, "the page links its stylesheet").toBeDefined();
      const res = await fetch(`${c.url}${css}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("text/css; charset=utf-8");
      expect(await res.text()).toBe(
        readFileSync(join(projectRoot, "reconciler/ui/assets/style.css"), "utf8"),
      );
    });
  });
});
