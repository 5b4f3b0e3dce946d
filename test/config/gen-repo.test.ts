// bench/gen-repo.ts makes valid, deterministic repos (other benchmarks rely on it), and
// mutateOneApp changes exactly one app per call.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import jsyaml from "js-yaml";
import { describe, expect, it } from "vitest";
import { generateRepo, mutateOneApp } from "../../bench/gen-repo.js";
import { ParseCache } from "../../core/config/index.js";
import { parseText } from "../../core/config/parse.js";
import { loadCommit, loadWorktree } from "../../reconciler/repo/load.js";
import { useTempRepos } from "../helpers/git-repo.js";
import { requireTool } from "../helpers/tools.js";

const ok = requireTool("git");
const size = { apps: 300, nodes: 40, domains: 150 };

describe.skipIf(!ok)("bench/gen-repo", () => {
  const temp = useTempRepos();

  it("generates a valid repo with the asked numbers of resources, and commits it", async () => {
    const dir = temp.makeTempDir();
    const repo = await generateRepo(dir, { ...size, seed: 7 });
    const r = await loadCommit(dir, "HEAD");
    expect(r.diagnostics).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.commit).toBe(repo.commit);
    expect([r.config.apps.length, r.config.nodes.length, r.config.domains.length]).toEqual([300, 40, 150]);
    const runtimes = new Set(r.config.nodes.map((n) => n.spec.runtime));
    expect([...runtimes].sort()).toEqual(["docker", "podman", "process"]);
    expect(r.config.apps.some((a) => a.spec.command)).toBe(true);
    expect(r.config.apps.some((a) => a.spec.placement?.nodes)).toBe(true);
  });

  it("is deterministic for a seed", async () => {
    const a = temp.makeTempDir();
    const b = temp.makeTempDir();
    const ra = await generateRepo(a, { ...size, seed: 3, commit: false });
    await generateRepo(b, { ...size, seed: 3, commit: false });
    const app = `apps/${ra.apps[17]}.yaml`;
    expect(readFileSync(join(a, app), "utf8")).toBe(readFileSync(join(b, app), "utf8"));
  });

  it("every generated file takes the fast path and reads exactly as js-yaml reads it", async () => {
    const dir = temp.makeTempDir();
    await generateRepo(dir, { ...size, seed: 11, commit: false });
    let files = 0;
    for (const sub of ["apps", "nodes", "domains"]) {
      for (const name of readdirSync(join(dir, sub))) {
        const text = readFileSync(join(dir, sub, name), "utf8");
        const parsed = parseText(text);
        // The fast path of plain block YAML (core/config/block-yaml.ts): a benchmark of loading
        // measures it only if the generated files take it.
        expect(parsed.parser, name).toBe("block-yaml");
        expect(parsed.docs, name).toEqual(jsyaml.loadAll(text, undefined, { schema: jsyaml.CORE_SCHEMA }));
        files++;
      }
    }
    expect(files).toBe(490);
  });

  it("mutateOneApp changes one app per call and commits it", async () => {
    const dir = temp.makeTempDir();
    await generateRepo(dir, { ...size, seed: 1 });
    const cache = new ParseCache();
    await loadCommit(dir, "HEAD", { cache });
    const parsed = cache.parses;
    const first = await mutateOneApp(dir);
    const second = await mutateOneApp(dir);
    expect(first.file).not.toBe(second.file);
    const r = await loadCommit(dir, "HEAD", { cache });
    expect(r.commit).toBe(second.commit);
    expect(r.diagnostics).toEqual([]);
    expect(cache.parses - parsed).toBe(2);
    expect((await loadWorktree(dir)).diagnostics).toEqual([]);
  });
});
