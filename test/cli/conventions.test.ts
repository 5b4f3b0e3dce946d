// The CLI keeps its own conventions, checked by running every command the program registers (the
// list comes from the program itself, so a command added later is swept too) the way a new user
// would: outside a git repository, with --json, and with a bad value for each option. No run may
// print a stack trace or "internal error"; every --json run prints JSON on stdout (one document,
// or NDJSON lines), its errors included; every failure says what is wrong. Then the conventions
// the issue names one by one: status/history outside a repo, plan --json --format text, status
// --watch --interval, --version --json, NDJSON streams, berth up on a busy port and its state dir
// per repo, and berth init's editor validation with a description on every schema property.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import type { Command } from "commander";
import { afterAll, describe, expect, it } from "vitest";
import { editorAssociations } from "../../cli/commands/init.js";
import { repoStateName } from "../../cli/commands/up.js";
import { buildProgram } from "../../cli/program.js";
import { schemas } from "../../schema/index.js";
import { type CliRun, runBerth } from "../helpers/berth-cli.js";
import { requireTool } from "../helpers/tools.js";
import { startHarness } from "../reconciler/http/harness.js";

const dirs: string[] = [];
const tempDir = (prefix = "berth-cli-") => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Leaf {
  path: string[];
  cmd: Command;
}

function leaves(c: Command, path: string[] = []): Leaf[] {
  return c.commands.flatMap((s) => {
    const here = [...path, s.name()];
    return s.commands.length > 0 ? leaves(s, here) : [{ path: here, cmd: s }];
  });
}

// Values for what a command cannot run without, chosen to fail fast and touch nothing outside the
// temp dir: a reconciler URL where nothing listens, a token file that does not exist.
function placeholders(leaf: Leaf, dir: string): string[] {
  const out: string[] = [];
  for (const a of leaf.cmd.registeredArguments)
    if (a.required) out.push(a.name() === "commit" ? "HEAD" : "n1");
  for (const o of leaf.cmd.options) {
    if (!o.mandatory) continue;
    const long = o.long as string;
    out.push(long, long === "--address" ? "10.0.0.1" : long === "--token-file" ? join(dir, "missing") : "n1");
  }
  if (leaf.cmd.options.some((o) => o.long === "--url") && !out.includes("--url"))
    out.push("--url", "http://127.0.0.1:9");
  return out;
}

/** Commands that run until stopped. */
const longRunning = new Set(["serve", "agent", "up"]);

/** A home and XDG dirs inside `dir`: a swept command (secret keygen, up) never writes the real ones. */
const homeIn = (dir: string): Record<string, string> => ({
  HOME: join(dir, ".home"),
  XDG_CONFIG_HOME: join(dir, ".home", "config"),
  XDG_CACHE_HOME: join(dir, ".home", "cache"),
  XDG_STATE_HOME: join(dir, ".home", "state"),
  XDG_DATA_HOME: join(dir, ".home", "data"),
});

const stack = /^\s+at .+(:\d+:\d+\)?|\(native\))$/m;

function checkRun(what: string, r: CliRun, json: boolean): void {
  const all = `${r.stdout}\n${r.stderr}`;
  expect(all, `${what}: stack trace`).not.toMatch(stack);
  expect(all, `${what}: internal error`).not.toMatch(/internal error/);
  expect([0, 1, 2, 3], `${what}: exit ${r.code}`).toContain(r.code);
  if (json) {
    expect(r.stdout.trim(), `${what}: stdout empty with --json`).not.toBe("");
    let parsed: unknown[];
    try {
      parsed = [JSON.parse(r.stdout)];
    } catch {
      parsed = r.stdout
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => {
          try {
            return JSON.parse(l);
          } catch {
            throw new Error(`${what}: stdout is neither JSON nor NDJSON:\n${r.stdout.slice(0, 500)}`);
          }
        });
    }
    if (r.code !== 0 && parsed.length === 1) {
      const e = (parsed[0] as { error?: { message?: unknown } }).error;
      if (e) expect(typeof e.message, `${what}: error without a message`).toBe("string");
    }
  } else if (r.code === 1) {
    expect(`${r.stdout}${r.stderr}`.trim(), `${what}: failed without a word`).not.toBe("");
  }
}

async function pool<T>(items: T[], size: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: size }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

describe("every registered command, swept", () => {
  it("no stack trace, JSON on stdout with --json, a word on every failure", {
    timeout: 600_000,
  }, async () => {
    const program = await buildProgram();
    const all = leaves(program);
    // The sweep sees what the program registers; a walk that found few commands would prove little.
    expect(all.map((l) => l.path.join(" "))).toEqual(
      expect.arrayContaining(["validate", "plan", "status", "node add"]),
    );
    const runs: { what: string; args: string[]; json: boolean; cwd: string }[] = [];
    // A config repo as `berth init` makes it (a git repo with a first commit): commands run there
    // as on day one.
    const initialised = async () => {
      const dir = tempDir();
      expect((await runBerth(["init", dir], { env: homeIn(dir) })).code).toBe(0);
      expect(execFileSync("git", ["rev-parse", "HEAD"], { cwd: dir, encoding: "utf8" })).toMatch(
        /^[0-9a-f]{40}/,
      );
      return dir;
    };
    for (const leaf of all) {
      const base = (dir: string) => [...leaf.path, "--repo", dir, ...placeholders(leaf, dir)];
      for (const json of [false, true]) {
        const dir = tempDir();
        runs.push({
          what: `berth ${leaf.path.join(" ")}${json ? " --json" : ""} (outside a repo)`,
          args: [...base(dir), ...(json ? ["--json"] : [])],
          json,
          cwd: dir,
        });
        // Inside a repo, every command that ends by itself (serve, agent and up run until stopped;
        // outside a repo and with --json they are swept above).
        if (longRunning.has(leaf.path.join(" "))) continue;
        const repo = await initialised();
        runs.push({
          what: `berth ${leaf.path.join(" ")}${json ? " --json" : ""} (in a new config repo)`,
          args: [...base(repo), ...(json ? ["--json"] : [])],
          json,
          cwd: repo,
        });
      }
      for (const o of leaf.cmd.options) {
        if (!(o.required || o.optional) || o.mandatory) continue;
        const dir = tempDir();
        const args = [...base(dir), o.long as string, "not-a-value!", "--json"];
        runs.push({
          what: `berth ${leaf.path.join(" ")} ${o.long} not-a-value! --json`,
          args,
          json: true,
          cwd: dir,
        });
      }
    }
    const results: string[] = [];
    const failures: string[] = [];
    await pool(runs, 4, async (run) => {
      const r = await runBerth(run.args, { timeoutMs: 30_000, env: homeIn(run.cwd) });
      results.push(`${r.code} ${run.what}`);
      try {
        checkRun(run.what, r, run.json);
      } catch (err) {
        failures.push(
          `${(err as Error).message.split("\n")[0]}\n    stdout: ${r.stdout.slice(0, 200)}\n    stderr: ${r.stderr.slice(0, 300)}`,
        );
      }
    });
    expect(failures).toEqual([]);
    expect(results.length).toBe(runs.length);
    console.log(`swept ${all.length} commands in ${runs.length} runs`);
  });
});

describe("conventions, one by one", () => {
  it("outside a git repository, status, history and rollback say so and exit 1", async () => {
    const dir = tempDir();
    for (const args of [["status"], ["history"], ["rollback", "HEAD"]]) {
      const r = await runBerth([...args, "--repo", dir]);
      expect(r.code, args.join(" ")).toBe(1);
      expect(r.stderr).toContain(`error: ${dir} is not a git repository`);
    }
  });

  it("status --url notaurl is a user's mistake, said in one line", async () => {
    const r = await runBerth(["status", "--url", "notaurl"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: --url "notaurl" is not a URL/);
  });

  it("plan refuses --json with --format text, as JSON", async () => {
    const r = await runBerth(["plan", "--json", "--format", "text", "--repo", tempDir()]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).error.message).toContain("--json and --format text");
  });

  it("status --watch --interval refuses 0, negatives and words", async () => {
    for (const v of ["0", "-1", "soon", ""]) {
      const r = await runBerth(["status", "--watch", "--interval", v, "--url", "http://127.0.0.1:9"], {
        timeoutMs: 10_000,
      });
      expect(r.code, v).toBe(1);
      expect(r.stderr).toContain("must be a number of seconds above 0");
    }
  });

  it("--version supports --json", async () => {
    const r = await runBerth(["--version", "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
  });

  it("long-running commands refuse --json, as JSON", async () => {
    for (const cmd of ["serve", "up"]) {
      const r = await runBerth([cmd, "--json", "--repo", tempDir()]);
      expect(r.code, cmd).toBe(1);
      expect(JSON.parse(r.stdout).error.message).toContain(`berth ${cmd} has no JSON output`);
    }
  });

  it("rollback --json is one JSON document: nothing to do, a dry run, a rollback", async () => {
    const repo = tempDir();
    expect((await runBerth(["init", repo], { env: homeIn(repo) })).code).toBe(0);
    const git = (...a: string[]) =>
      execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...a], {
        cwd: repo,
        encoding: "utf8",
      }).trim();
    const first = git("rev-parse", "HEAD");
    const app = join(repo, "apps", "hello.yaml");
    writeFileSync(app, readFileSync(app, "utf8").replace(/replicas: \d+/, "replicas: 3"));
    git("commit", "-qam", "three hellos");
    const run = async (...extra: string[]) => {
      // rollback commits with the user's git identity; the isolated home has none.
      const identity = { GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@example.com" };
      const env = {
        ...homeIn(repo),
        ...identity,
        GIT_COMMITTER_NAME: "t",
        GIT_COMMITTER_EMAIL: "t@example.com",
      };
      const r = await runBerth(["rollback", ...extra, "--json", "--repo", repo], { env });
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout);
    };
    const nothing = await run("HEAD");
    expect(nothing).toMatchObject({ rolledBack: false, commit: null, plan: null });
    const dry = await run(first, "--dry-run");
    expect(dry).toMatchObject({ target: first, dryRun: true, rolledBack: false, commit: null });
    expect(dry.plan.summary.change + dry.plan.summary.add + dry.plan.summary.remove).toBeGreaterThan(0);
    const done = await run(first);
    expect(done).toMatchObject({ target: first, rolledBack: true, commit: git("rev-parse", "HEAD") });
  });

  it("a usage error with --json is a JSON error", async () => {
    const r = await runBerth(["node", "add", "n1", "--json"]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).error).toMatchObject({
      kind: "usage",
      message: expect.stringContaining("--address"),
    });
  });

  it("an error after a JSON result goes to stderr, so stdout stays one document", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "app.yaml"), "kind: App\nname: web\nreplicas: -1\n");
    const r = await runBerth(["validate", "--json", "--repo", dir]);
    expect(r.code).toBe(1);
    expect(Array.isArray(JSON.parse(r.stdout))).toBe(true);
  });

  it("status --watch --json is NDJSON", async () => {
    const r = await runBerth(
      ["status", "--watch", "--json", "--interval", "0.2", "--url", "http://127.0.0.1:9"],
      // Stopped once two lines came (a loaded machine can take seconds to start the CLI).
      { timeoutMs: 60_000, until: (out) => out.split("\n").filter(Boolean).length >= 2 },
    );
    const lines = r.stdout.split("\n").filter(Boolean);
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const l of lines) expect(JSON.parse(l).error.message).toContain("cannot reach the reconciler");
  });

  it("events --json is NDJSON, one event per line", async () => {
    const h = await startHarness();
    try {
      h.events.emit("detected", { commit: "a".repeat(40), subject: "two\nlines" });
      h.events.emit("published", { generation: 1, summary: "Plan: 1 to add" });
      const r = await runBerth(["events", "--json", "--url", h.server.url]);
      expect(r.code).toBe(0);
      const lines = r.stdout
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l));
      expect(lines.map((l) => l.type)).toEqual(["detected", "published"]);
    } finally {
      await h.close();
    }
  });

  it("berth up on a busy port says so in one line", async () => {
    const ok = requireTool("git");
    if (!ok) return;
    const repo = join(tempDir(), "repo");
    expect((await runBerth(["init", repo])).code).toBe(0);
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, "127.0.0.1", () => r()));
    try {
      const port = (busy.address() as { port: number }).port;
      const r = await runBerth(
        [
          "up",
          "--repo",
          repo,
          "--listen",
          `127.0.0.1:${port}`,
          "--no-caddy",
          "--state-dir",
          join(tempDir(), "state"),
        ],
        { timeoutMs: 30_000 },
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        `error: cannot listen on 127.0.0.1:${port} for the API: another program uses that address`,
      );
      expect(`${r.stdout}${r.stderr}`).not.toMatch(stack);
    } finally {
      busy.close();
    }
  });

  it("berth up keeps one state dir per repo", () => {
    const a = tempDir("berth-a-");
    const b = tempDir("berth-b-");
    expect(repoStateName(a)).not.toBe(repoStateName(b));
    expect(repoStateName(a)).toBe(repoStateName(`${a}/.`));
    expect(repoStateName(a)).toMatch(/^berth-a-[A-Za-z0-9]+-[0-9a-f]{12}$/);
  });
});

describe("editor validation", () => {
  it("berth init associates every config file with its schema, which resolves offline", async () => {
    if (!requireTool("git")) return;
    const repo = join(tempDir(), "repo");
    const r = await runBerth(["init", repo, "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).files).toContain(".vscode/settings.json");
    const settings = JSON.parse(readFileSync(join(repo, ".vscode/settings.json"), "utf8"))[
      "yaml.schemas"
    ] as Record<string, string[]>;
    const kindOf: Record<string, string> = {
      App: "app",
      Node: "node",
      Domain: "domain",
      Settings: "settings",
    };
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true, recursive: true })
        .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name) && !relative(repo, e.parentPath).startsWith("."))
        .map((e) => relative(repo, join(e.parentPath, e.name)));
    const globToRe = (g: string) =>
      new RegExp(
        `^${g
          .replace(/\./g, "\\.")
          .replace(/\*\*\//g, "(.*/)?")
          .replace(/\*/g, "[^/]*")}$`,
      );
    const configFiles = files(repo);
    expect(configFiles.length).toBeGreaterThanOrEqual(3);
    for (const f of configFiles) {
      const kind = /^kind:\s*(\w+)/m.exec(readFileSync(join(repo, f), "utf8"))?.[1] as string;
      const schema = `./.berth/schema/${kindOf[kind]}.schema.json`;
      expect(
        settings[schema]?.some((g) => globToRe(g).test(f)),
        `${f} (${kind}) → ${schema}`,
      ).toBe(true);
    }
    expect(
      Object.keys(settings)
        .map((s) => s.replace("./.berth/schema/", ""))
        .sort(),
    ).toEqual(Object.keys(editorAssociations).sort());
    // The written schemas hold no $id, so "common.schema.json#…" resolves next to them.
    for (const name of Object.keys(schemas)) {
      const text = readFileSync(join(repo, ".berth/schema", name), "utf8");
      expect(JSON.parse(text).$id, name).toBeUndefined();
      for (const m of text.matchAll(/"\$ref": "([^"#]+)#/g))
        expect(readdirSync(join(repo, ".berth/schema"))).toContain(m[1]);
    }
  });

  it("every schema property has a description a hover can show", () => {
    const missing: string[] = [];
    const resolve = (file: string, ref: string) => {
      const [target, pointer = ""] = ref.split("#");
      let node: unknown = schemas[(target || file) as keyof typeof schemas];
      for (const seg of pointer.split("/").filter(Boolean)) node = (node as Record<string, unknown>)[seg];
      return node as { description?: string } | undefined;
    };
    for (const [file, root] of Object.entries(schemas)) {
      const walk = (node: unknown, ptr: string) => {
        if (!node || typeof node !== "object") return;
        const props = (node as { properties?: Record<string, { description?: string; $ref?: string }> })
          .properties;
        for (const [k, v] of Object.entries(props ?? {})) {
          const d = v.description ?? (v.$ref ? resolve(file, v.$ref)?.description : undefined);
          if (!d?.trim()) missing.push(`${file}${ptr}/properties/${k}`);
        }
        for (const [k, v] of Object.entries(node)) walk(v, `${ptr}/${k}`);
      };
      walk(root, "#");
    }
    expect(missing).toEqual([]);
  });
});
