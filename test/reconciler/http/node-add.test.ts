// `berth node add`: the node file it writes (schema line, tokenSha256 of the printed token, no
// token), refusal to overwrite, --token-file mode 0600, --json output, and bad input. Drives the
// real command registration through commander, in a temp repo.
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { register } from "../../../cli/commands/node.js";
import { UserError } from "../../../cli/errors.js";
import { sha256Hex } from "../../../reconciler/auth.js";
import { configValidator } from "../../../schema/index.js";

let repo: string;
beforeEach(async () => {
  repo = await mkdtemp(join(tmpdir(), "berth-node-add-"));
});
afterEach(async () => {
  await rm(repo, { recursive: true, force: true });
});

/** Runs `berth [--repo R] node add …` in-process and returns what it printed. */
async function run(args: string[], globals: string[] = []): Promise<string> {
  const program = new Command("berth")
    .option("--repo <path>")
    .option("--json")
    .option("--no-color")
    .exitOverride();
  register(program);
  let out = "";
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string) => {
    out += chunk;
    return true;
  }) as typeof process.stdout.write;
  try {
    await program.parseAsync(["--repo", repo, ...globals, "node", "add", ...args], { from: "user" });
  } finally {
    process.stdout.write = write;
  }
  return out;
}

describe("berth node add", () => {
  it("writes a valid node file with the SHA-256 of the token it prints once", async () => {
    const out = await run([
      "web-1",
      "--address",
      "10.0.0.5",
      "--role",
      "worker,proxy",
      "--label",
      "zone=eu-1",
      "--runtime",
      "process",
    ]);
    const token = /\n {2}(berth_[A-Za-z0-9_-]+)\n/.exec(out)?.[1];
    expect(token).toBeDefined();
    expect(out.split(token as string)).toHaveLength(2); // printed exactly once
    expect(out).toContain("--token-file /etc/berth/agent.token");
    const text = await readFile(join(repo, "nodes/web-1.yaml"), "utf8");
    expect(text.split("\n")[0]).toBe(
      "# yaml-language-server: $schema=https://berth.sh/schema/node.schema.json",
    );
    expect(text).not.toContain(token);
    const doc = parse(text);
    expect(doc).toEqual({
      kind: "Node",
      name: "web-1",
      address: "10.0.0.5",
      roles: ["worker", "proxy"],
      runtime: "process",
      labels: { zone: "eu-1" },
      tokenSha256: sha256Hex(token as string),
    });
    expect(configValidator("Node")(doc)).toBe(true);
  });

  it("reuses the schema reference of the repo's other node files", async () => {
    await mkdir(join(repo, "nodes"));
    await writeFile(
      join(repo, "nodes/a.yaml"),
      "# yaml-language-server: $schema=../.berth/schema/node.schema.json\nkind: Node\n",
    );
    await run(["b", "--address", "b.internal"]);
    const first = (await readFile(join(repo, "nodes/b.yaml"), "utf8")).split("\n")[0];
    expect(first).toBe("# yaml-language-server: $schema=../.berth/schema/node.schema.json");
  });

  it("refuses to overwrite an existing node file", async () => {
    await run(["web-1", "--address", "10.0.0.5"]);
    const before = await readFile(join(repo, "nodes/web-1.yaml"), "utf8");
    await expect(run(["web-1", "--address", "10.0.0.6"])).rejects.toThrow(
      /already exists; berth node add never overwrites/,
    );
    expect(await readFile(join(repo, "nodes/web-1.yaml"), "utf8")).toBe(before);
  });

  it("writes the token only to --token-file, mode 0600, and not to stdout", async () => {
    const tokenFile = join(repo, "agent.token");
    const out = await run(["db", "--address", "10.0.0.7", "--token-file", tokenFile]);
    const token = (await readFile(tokenFile, "utf8")).trim();
    expect(token).toMatch(/^berth_/);
    expect(((await stat(tokenFile)).mode & 0o777).toString(8)).toBe("600");
    expect(out).not.toContain(token);
    expect(parse(await readFile(join(repo, "nodes/db.yaml"), "utf8")).tokenSha256).toBe(sha256Hex(token));
    // An existing token file is never overwritten, and then no node file is written either.
    await expect(run(["db2", "--address", "x", "--token-file", tokenFile])).rejects.toThrow(/already exists/);
    await expect(stat(join(repo, "nodes/db2.yaml"))).rejects.toThrow();
  });

  it("prints JSON with --json", async () => {
    const json = JSON.parse(await run(["edge", "--address", "1.2.3.4"], ["--json"]));
    expect(json).toMatchObject({
      node: "edge",
      file: "nodes/edge.yaml",
      token: expect.stringMatching(/^berth_/),
    });
    expect(json.tokenSha256).toBe(sha256Hex(json.token));
  });

  it.each([
    [["Bad_Name", "--address", "x"], /cannot add node Bad_Name/],
    [["ok", "--address", "x", "--role", "gateway"], /cannot add node ok/],
    [["ok", "--address", "x", "--runtime", "lxc"], /cannot add node ok/],
    [["ok", "--address", "x", "--label", "novalue"], /--label novalue: expected KEY=VALUE/],
  ])("rejects bad input %j with a UserError", async (args, message) => {
    const err = await run(args).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(message);
    await expect(stat(join(repo, "nodes/ok.yaml"))).rejects.toThrow();
  });
});

describe("berth node add through the berth CLI", () => {
  const root = fileURLToPath(new URL("../../../", import.meta.url));
  const berth = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ["--import", "tsx", join(root, "cli/main.ts"), ...args],
        { cwd: root, timeout: 60_000 },
        (err, stdout, stderr) =>
          resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });

  it("adds a node to the multi-node example that still validates, and refuses to add it twice", async () => {
    await cp(join(root, "examples/multi-node"), join(repo, "cfg"), { recursive: true });
    const cfg = join(repo, "cfg");
    const added = await berth([
      "--repo",
      cfg,
      "--json",
      "node",
      "add",
      "worker-9",
      "--address",
      "10.0.0.19",
      "--label",
      "zone=b",
    ]);
    expect(added.code, added.stderr).toBe(0);
    const out = JSON.parse(added.stdout);
    const text = await readFile(join(cfg, "nodes/worker-9.yaml"), "utf8");
    expect(text.split("\n")[0]).toBe(
      (await readFile(join(cfg, "nodes/worker-1.yaml"), "utf8")).split("\n")[0],
    );
    expect(parse(text).tokenSha256).toBe(sha256Hex(out.token));
    const validated = await berth(["--repo", cfg, "validate"]);
    expect(validated.code, validated.stdout + validated.stderr).toBe(0);
    const again = await berth(["--repo", cfg, "node", "add", "worker-9", "--address", "10.0.0.20"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("nodes/worker-9.yaml already exists");
  });
});
