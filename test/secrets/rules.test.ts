// Validation of encrypted secrets: every rule at its FILE:LINE:COL with the command that fixes it,
// and the desired documents carrying ciphertext only. Real age ciphertexts; nothing decrypts.
import { beforeAll, describe, expect, it } from "vitest";
import { loadFromFiles } from "../../core/config/index.js";
import { Evaluator } from "../../core/evaluate.js";
import { linesOf, toFiles } from "../config/load-helpers.js";
import { encryptTo, encryptWithPassphrase, type Keypair, keypair, secretsFile } from "./age-fixture.js";

let op: Keypair;
let n1: Keypair;
let n2: Keypair;
let stranger: Keypair;

const node = (name: string, recipient?: string) =>
  `kind: Node\nname: ${name}\naddress: 10.0.0.${name.slice(1)}\nruntime: podman\n${recipient ? `recipient: ${recipient}\n` : ""}`;
const app = (placement = "n1", env = "  DB_PASSWORD: { secret: DB_PASSWORD }\n") =>
  `kind: App\nname: web\nimage: nginx:1.27\nport: 8080\nplacement:\n  nodes: [${placement}]\nenv:\n  LOG_LEVEL: info\n${env}`;
const settings = () => `kind: Settings\noperators:\n  - name: alice\n    recipient: ${op.recipient}\n`;

let base: Record<string, string>;

beforeAll(async () => {
  [op, n1, n2, stranger] = await Promise.all([keypair(), keypair(), keypair(), keypair()]);
  base = {
    "berth.yaml": settings(),
    "nodes/n1.yaml": node("n1", n1.recipient),
    "nodes/n2.yaml": node("n2", n2.recipient),
    "apps/web.yaml": app(),
    "secrets/web.yaml": await secretsFile("web", { DB_PASSWORD: "canary-pw-1" }, [
      op.recipient,
      n1.recipient,
    ]),
  };
});

describe("valid secrets", () => {
  it("load without a problem and reach the desired document as ciphertext only", () => {
    const { errors, warnings, result } = linesOf(base);
    expect(errors).toEqual([]);
    expect(warnings).toEqual([]);
    const ev = new Evaluator().evaluate(result, { branch: "main", commit: "a".repeat(40) });
    expect(ev.diagnostics).toEqual([]);
    const w = ev.desired.get("n1")?.workloads[0];
    expect(w?.env).toEqual({ LOG_LEVEL: "info" });
    expect(Object.keys(w?.secrets ?? {})).toEqual(["DB_PASSWORD"]);
    expect(w?.secrets?.DB_PASSWORD?.secret).toBe("DB_PASSWORD");
    expect(w?.secrets?.DB_PASSWORD?.ciphertext).toMatch(/^-----BEGIN AGE ENCRYPTED FILE-----/);
    expect(JSON.stringify([...ev.desired.values()])).not.toContain("canary-pw-1");
  });
});

describe("secret rules", () => {
  it("secret-missing: an env entry taking a secret that is not set", () => {
    const files = {
      ...base,
      "apps/web.yaml": app("n1", "  DB_PASSWORD: { secret: DB_PASSWORD }\n  API_KEY: { secret: API_KY }\n"),
    };
    expect(linesOf(files).errors).toEqual([
      "apps/web.yaml:10:22: env API_KEY takes secret API_KY, which is not set (no secret API_KY in secrets/web.yaml): set it with `berth secret set web API_KY < value-file` [secret-missing]",
    ]);
  });

  it("secret-missing: an app with no secrets file at all", () => {
    const { "secrets/web.yaml": _, ...files } = base;
    expect(linesOf(files).errors).toEqual([
      "apps/web.yaml:9:26: env DB_PASSWORD takes secret DB_PASSWORD, which is not set (app web has no secrets yet): set it with `berth secret set web DB_PASSWORD < value-file` [secret-missing]",
    ]);
  });

  it("secrets-app-missing: secrets of an app that does not exist, with the closest name", async () => {
    const files = {
      ...base,
      "secrets/wbe.yaml": await secretsFile("wbe", { X: "v" }, [op.recipient]),
    };
    expect(linesOf(files).errors).toEqual([
      'secrets/wbe.yaml:5:6: secrets for app "wbe", which does not exist; did you mean "web"?: fix the app name, or remove them with `berth secret rm wbe --all` [secrets-app-missing]',
    ]);
  });

  it("duplicate-secrets: two Secrets documents for one app", async () => {
    const files = { ...base, "secrets/web-2.yaml": await secretsFile("web", { OTHER: "v" }, [op.recipient]) };
    // secrets/web-2.yaml sorts first, so it is the one that counts and secrets/web.yaml the duplicate.
    expect(linesOf(files).errors).toContainEqual(
      expect.stringMatching(
        /^secrets\/web\.yaml:5:6: the secrets of app "web" are defined twice \(first in secrets\/web-2\.yaml\): keep one Secrets document per app.*\[duplicate-secrets\]$/,
      ),
    );
  });

  it("secret-malformed: a ciphertext cut short", () => {
    const text = base["secrets/web.yaml"] as string;
    const lines = text.split("\n");
    const end = lines.findIndex((l) => l.includes("END AGE"));
    const cut = [...lines.slice(0, end - 1), ...lines.slice(end + 1)].join("\n");
    const { errors } = linesOf({ ...base, "secrets/web.yaml": cut });
    expect(errors).toEqual([
      expect.stringMatching(
        /^secrets\/web\.yaml:12:17: secret DB_PASSWORD of app web cannot be decrypted: it does not end with "-----END AGE ENCRYPTED FILE-----": the ciphertext is cut short; set it again with `berth secret set web DB_PASSWORD` \(value on stdin or --from-file\) \[secret-malformed\]$/,
      ),
    ]);
  });

  it("secret-malformed: a ciphertext for other recipients than the ones listed", async () => {
    const other = await encryptTo([stranger.recipient], "v");
    const text = (base["secrets/web.yaml"] as string).replace(
      /ciphertext: \|\n(?: {6}.*\n)+/,
      `ciphertext: |\n${other.trim().replace(/^/gm, "      ")}\n`,
    );
    const { errors } = linesOf({ ...base, "secrets/web.yaml": text });
    expect(errors).toEqual([
      expect.stringContaining(
        "secret DB_PASSWORD of app web cannot be decrypted: its header has 1 recipient stanza but 2 recipients are listed: it was not made for the recipients listed beside it",
      ),
    ]);
  });

  it("secret-malformed: a passphrase-encrypted value", async () => {
    const pass = await encryptWithPassphrase("v");
    const text = (base["secrets/web.yaml"] as string).replace(
      /ciphertext: \|\n(?: {6}.*\n)+/,
      `ciphertext: |\n${pass.trim().replace(/^/gm, "      ")}\n`,
    );
    expect(linesOf({ ...base, "secrets/web.yaml": text }).errors).toEqual([
      expect.stringContaining("it was encrypted with a passphrase, which no node can use"),
    ]);
  });

  it("secret-malformed: base64 broken inside the armor", () => {
    const text = (base["secrets/web.yaml"] as string).replace(
      /(BEGIN AGE ENCRYPTED FILE-----\n {6})..../,
      "$1!!!!",
    );
    expect(linesOf({ ...base, "secrets/web.yaml": text }).errors).toEqual([
      expect.stringContaining("line 2 of the armor is not base64"),
    ]);
  });

  it("secret-unused and secret-no-operator are warnings", async () => {
    const files = {
      ...base,
      "apps/web.yaml": app("n1", ""),
      "secrets/web.yaml": await secretsFile("web", { DB_PASSWORD: "x" }, [n1.recipient]),
    };
    const { errors, warnings } = linesOf(files);
    expect(errors).toEqual([]);
    expect(warnings).toEqual([
      expect.stringMatching(
        /^secrets\/web\.yaml:7:3: warning: secret DB_PASSWORD of app web is not used: .*\[secret-unused\]$/,
      ),
      expect.stringMatching(
        /^secrets\/web\.yaml:9:5: warning: no operator can read or rekey secret DB_PASSWORD of app web \(none of the operators in berth\.yaml is among its recipients\): .*\[secret-no-operator\]$/,
      ),
    ]);
  });

  it("an env value that is neither a string nor a secret reference", () => {
    const files = { ...base, "apps/web.yaml": app("n1", "  DB_PASSWORD: { secrets: DB_PASSWORD }\n") };
    expect(linesOf(files).errors).toEqual([
      'apps/web.yaml:9:16: env.DB_PASSWORD is missing the required field "secret" [schema]',
      'apps/web.yaml:9:18: unknown field "secrets" in env.DB_PASSWORD; did you mean "secret"? [schema]',
    ]);
  });
});

describe("secret-unreadable (after placement)", () => {
  const check = (files: Record<string, string>) => new Evaluator().check(loadFromFiles(toFiles(files)));

  it("moving the app to a node the secret is not encrypted to names the node and the fix", () => {
    const lines = check({ ...base, "apps/web.yaml": app("n2") }).map(
      (d) => `${d.file}:${d.line}:${d.col}: ${d.message} [${d.rule}]`,
    );
    expect(lines).toEqual([
      "secrets/web.yaml:9:5: secret DB_PASSWORD of app web cannot be decrypted where the app is placed (web-0 on n2): it is not encrypted to node n2; run `berth secret rekey web` and commit secrets/web.yaml [secret-unreadable]",
    ]);
  });

  it("a node without an identity is told to get one first", () => {
    const lines = check({ ...base, "nodes/n2.yaml": node("n2"), "apps/web.yaml": app("n2") }).map(
      (d) => d.message,
    );
    expect(lines).toEqual([
      "secret DB_PASSWORD of app web cannot be decrypted where the app is placed (web-0 on n2): node n2 has no age identity (no recipient in its node file); give node n2 an identity with `berth node identity n2`, then run `berth secret rekey web`",
    ]);
  });

  it("a node whose identity was rotated (new recipient) is caught too", async () => {
    const rotated = await keypair();
    expect(check({ ...base, "nodes/n1.yaml": node("n1", rotated.recipient) }).map((d) => d.rule)).toEqual([
      "secret-unreadable",
    ]);
  });

  it("nothing is reported while the placed nodes are recipients", () => {
    expect(check(base)).toEqual([]);
  });
});
