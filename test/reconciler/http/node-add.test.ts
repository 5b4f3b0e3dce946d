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
import { cliArgs } from "../../helpers/berth-cli.js";

let repo: string;
beforeEach(async () => {
  repo = await mkdtemp(join(tmpdir(), "berth-node-add-"));
});
afterEach(async () => {
  await rm(repo, { recursive: true, force: true });
});

/** The recipient of an identity, as the reference CLI computes it (`age-keygen -y`). */
function recipientOf(identity: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile("age-keygen", ["-y"], (err, stdout) =>
      err ? reject(err) : resolve(stdout.trim()),
    );
    child.stdin?.end(`${identity}\n`);
  });
}

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
    await program.parseAsync(
      ["--repo", repo, ...globals, "node", ...(args[0] === "identity" ? [] : ["add"]), ...args],
      {
        from: "user",
      },
    );
  } finally {
    process.stdout.write = write;
  }
  return out;
}

describe("berth node add", () => {
  it("writes a valid node file with the SHA-256 of the token and the recipient of the identity it prints once", async () => {
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
    const identity = /\n {2}(AGE-SECRET-KEY-1[0-9A-Z]+)\n/.exec(out)?.[1] as string;
    expect(identity).toBeDefined();
    expect(out.split(identity)).toHaveLength(2); // printed exactly once
    expect(text).not.toContain(identity);
    expect(out).toContain("--identity-file /etc/berth/identity");
    const doc = parse(text);
    expect(doc).toEqual({
      kind: "Node",
      name: "web-1",
      address: "10.0.0.5",
      roles: ["worker", "proxy"],
      runtime: "process",
      labels: { zone: "eu-1" },
      tokenSha256: sha256Hex(token as string),
      recipient: await recipientOf(identity),
    });
    expect(configValidator("Node")(doc)).toBe(true);
  });

  it("writes the identity only to --identity-file, mode 0600, in age-keygen's format", async () => {
    const identityFile = join(repo, "node.key");
    const out = await run(["db", "--address", "10.0.0.7", "--identity-file", identityFile]);
    const text = await readFile(identityFile, "utf8");
    const identity = /^AGE-SECRET-KEY-1.*$/m.exec(text)?.[0] as string;
    expect(((await stat(identityFile)).mode & 0o777).toString(8)).toBe("600");
    expect(out).not.toContain(identity);
    const recipient = parse(await readFile(join(repo, "nodes/db.yaml"), "utf8")).recipient;
    expect(text).toContain(`# public key: ${recipient}\n`);
    expect(await recipientOf(identity)).toBe(recipient);
    // An existing identity file is never overwritten, and then nothing is written.
    await expect(run(["db2", "--address", "x", "--identity-file", identityFile])).rejects.toThrow(
      /already exists/,
    );
    await expect(stat(join(repo, "nodes/db2.yaml"))).rejects.toThrow();
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
    expect(json.recipient).toBe(await recipientOf(json.identity));
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

describe("berth node identity", () => {
  it("gives an existing node a new identity, keeping the rest of its file, and prints it once", async () => {
    await run(["web-1", "--address", "10.0.0.5", "--label", "zone=eu-1"]);
    const path = join(repo, "nodes/web-1.yaml");
    const before = await readFile(path, "utf8");
    await writeFile(path, `${before}# a comment of the operator\n`);
    const old = parse(before).recipient;
    const identityFile = join(repo, "new.key");
    const out = await run(["identity", "web-1", "--identity-file", identityFile]);
    const after = await readFile(path, "utf8");
    const fresh = parse(after).recipient;
    expect(fresh).not.toBe(old);
    expect(
      await recipientOf(/^AGE-SECRET-KEY-1.*$/m.exec(await readFile(identityFile, "utf8"))?.[0] as string),
    ).toBe(fresh);
    // Only the recipient changed (the yaml library sets a trailing comment off by a blank line).
    expect(after.replace(/\n\n/g, "\n")).toBe(`${before.replace(old, fresh)}# a comment of the operator\n`);
    expect(out).toContain(`recipient ${fresh} (was ${old})`);
    expect(out).toContain("berth secret rekey");
    const err = await run(["identity", "web-2"]).catch((e: unknown) => e);
    expect((err as Error).message).toBe('node "web-2" does not exist; did you mean "web-1"?');
  });
});

describe("berth node add through the berth CLI", () => {
  const root = fileURLToPath(new URL("../../../", import.meta.url));
  const berth = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, cliArgs(args), { cwd: root, timeout: 60_000 }, (err, stdout, stderr) =>
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
