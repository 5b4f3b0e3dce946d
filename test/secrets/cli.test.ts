// The secret commands through the real CLI, in a temp config repo, with the reference `age` CLI as
// the judge: berth encrypts what age decrypts (with an operator's and a node's identity) and
// decrypts what age encrypted; a value on the command line is refused; moving an app to a node
// the secret is not encrypted to fails validation until `berth secret rekey`.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { runBerth } from "../helpers/berth-cli.js";
import { requireTool } from "../helpers/tools.js";

const ok = requireTool("age") && requireTool("age-keygen", ["--version"]);

describe.skipIf(!ok)("berth secret (real CLI, age as the judge)", () => {
  let dir: string;
  let repo: string;
  const canary = `canary-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const key = (name: string) => join(dir, `${name}.key`);
  const berth = (args: string[], input?: string) =>
    runBerth(["--repo", repo, ...args], {
      env: { BERTH_IDENTITY: key("alice") },
      ...(input !== undefined ? { input } : {}),
    });
  const app = (node: string) =>
    `kind: App\nname: api\ncommand: ["node", "server.js"]\nport: 3000\nplacement:\n  nodes: [${node}]\nenv:\n  LOG_LEVEL: info\n  DB_PASSWORD: { secret: DB_PASSWORD }\n`;
  const armored = () => {
    const doc = parse(readFileSync(join(repo, "secrets/api.yaml"), "utf8"));
    return doc.secrets.DB_PASSWORD.ciphertext as string;
  };
  const ageDecrypt = (identity: string, ciphertext: string) =>
    execFileSync("age", ["-d", "-i", identity], { input: ciphertext }).toString("utf8");

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "berth-secret-cli-"));
    repo = join(dir, "repo");
    mkdirSync(repo);
    for (const n of ["a", "b"]) {
      const r = await runBerth([
        "--repo",
        repo,
        "node",
        "add",
        n,
        "--address",
        `10.0.0.${n === "a" ? 1 : 2}`,
        "--runtime",
        "process",
        "--token-file",
        join(dir, `${n}.token`),
        "--identity-file",
        key(n),
      ]);
      expect(r.code, r.stderr).toBe(0);
    }
    const kg = await runBerth(["secret", "keygen", "-o", key("alice"), "--name", "alice"]);
    expect(kg.code, kg.stderr).toBe(0);
    writeFileSync(
      join(repo, "berth.yaml"),
      `kind: Settings\n${kg.stdout.slice(kg.stdout.indexOf("operators:"))}`,
    );
    mkdirSync(join(repo, "apps"));
    writeFileSync(join(repo, "apps/api.yaml"), app("a"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("refuses a value on the command line, before reading or writing anything", async () => {
    for (const args of [
      ["secret", "set", "api", "DB_PASSWORD", canary],
      ["secret", "set", "api", "DB_PASSWORD", "--value", canary],
    ]) {
      const r = await berth(args, "ignored");
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        "error: berth secret set never takes a value on the command line: ps and the shell history would show it",
      );
      expect(r.stdout + r.stderr).not.toContain(canary);
    }
    expect(() => readFileSync(join(repo, "secrets/api.yaml"))).toThrow();
  });

  it("sets a secret from stdin; age decrypts it with the operator's and the node's identity, not another node's", async () => {
    const r = await berth(["secret", "set", "api", "DB_PASSWORD"], `${canary}\n`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      "Set secret DB_PASSWORD of app api in secrets/api.yaml, encrypted to node a, operator alice.",
    );
    expect(r.stdout + r.stderr).not.toContain(canary);
    const text = readFileSync(join(repo, "secrets/api.yaml"), "utf8");
    expect(text).not.toContain(canary);
    expect(text).toMatch(/# operator alice\n/);
    expect(ageDecrypt(key("alice"), armored())).toBe(canary); // the final newline was dropped
    expect(ageDecrypt(key("a"), armored())).toBe(canary);
    expect(() => ageDecrypt(key("b"), armored())).toThrow();
    const v = await berth(["validate"]);
    expect(v.code, v.stdout).toBe(0);
  });

  it("gets it back with the operator identity, and lists it without its value", async () => {
    const g = await berth(["secret", "get", "api", "DB_PASSWORD"]);
    expect(g.code, g.stderr).toBe(0);
    expect(g.stdout).toBe(canary);
    const ls = await berth(["secret", "ls"]);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(
      /^api\/DB_PASSWORD {2}set \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n {4}recipients: node a, operator alice\n {4}recipients up to date\n$/,
    );
    const wrong = await berth(["secret", "get", "api", "DB_PASSWORD", "--identity", key("b")]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(
      `error: cannot decrypt secret DB_PASSWORD of app api: it is not encrypted to the identity in ${key("b")}`,
    );
  });

  it("decrypts what the age CLI encrypted to the recipients it lists", async () => {
    const doc = parse(readFileSync(join(repo, "secrets/api.yaml"), "utf8"));
    const recipients: string[] = doc.secrets.DB_PASSWORD.recipients;
    const fromAge = execFileSync("age", ["-a", ...recipients.flatMap((r) => ["-r", r])], {
      input: "from-the-age-cli",
    }).toString();
    const text = readFileSync(join(repo, "secrets/api.yaml"), "utf8");
    const replaced = text.replace(
      /ciphertext: \|\n(?: {6}.*\n)+/,
      `ciphertext: |\n${fromAge.trim().replace(/^/gm, "      ")}\n`,
    );
    writeFileSync(join(repo, "secrets/api.yaml"), replaced);
    expect((await berth(["validate"])).code).toBe(0);
    expect((await berth(["secret", "get", "api", "DB_PASSWORD"])).stdout).toBe("from-the-age-cli");
    writeFileSync(join(repo, "secrets/api.yaml"), text);
  });

  it("moving the app to a node it is not encrypted to fails validation, naming the node and the fix; rekey fixes it", async () => {
    writeFileSync(join(repo, "apps/api.yaml"), app("b"));
    const v = await berth(["validate"]);
    expect(v.code).toBe(1);
    expect(v.stdout).toContain(
      "secrets/api.yaml:9:5: secret DB_PASSWORD of app api cannot be decrypted where the app is placed (api-0 on b): it is not encrypted to node b; run `berth secret rekey api` and commit secrets/api.yaml",
    );
    const dry = await berth(["secret", "rekey", "--dry-run"]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toBe(
      "Would re-encrypt (values unchanged):\n  ~ api/DB_PASSWORD  + node b  - node a\nRun without --dry-run to write secrets/api.yaml.\n",
    );
    const before = parse(readFileSync(join(repo, "secrets/api.yaml"), "utf8")).secrets.DB_PASSWORD;
    const r = await berth(["secret", "rekey"]);
    expect(r.code, r.stderr).toBe(0);
    const after = parse(readFileSync(join(repo, "secrets/api.yaml"), "utf8")).secrets.DB_PASSWORD;
    expect(after.updated).toBe(before.updated);
    expect(ageDecrypt(key("b"), after.ciphertext)).toBe(canary);
    expect(() => ageDecrypt(key("a"), after.ciphertext)).toThrow();
    expect((await berth(["validate"])).code).toBe(0);
    expect((await berth(["secret", "rekey"])).stdout).toContain("nothing to rekey");
  });

  it("says clearly what is wrong with bad input, and changes nothing", async () => {
    const text = readFileSync(join(repo, "secrets/api.yaml"), "utf8");
    const nope = await berth(["secret", "set", "apu", "X"], "v");
    expect(nope.code).toBe(1);
    expect(nope.stderr).toContain('error: app "apu" does not exist; did you mean "api"?');
    const badName = await berth(["secret", "set", "api", "1X"], "v");
    expect(badName.stderr).toContain('error: "1X" is not a secret name');
    const empty = await berth(["secret", "set", "api", "X"], "\n");
    expect(empty.stderr).toContain("error: the value is empty");
    expect(readFileSync(join(repo, "secrets/api.yaml"), "utf8")).toBe(text);
  });

  it("removes a secret; validation then names the env entry that still takes it", async () => {
    const r = await berth(["secret", "rm", "api", "DB_PASSWORD"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("secrets/api.yaml deleted");
    expect(r.stdout).toContain("The app's env still takes DB_PASSWORD from it");
    const v = await berth(["validate"]);
    expect(v.stdout).toContain(
      "apps/api.yaml:9:26: env DB_PASSWORD takes secret DB_PASSWORD, which is not set",
    );
  });
});
