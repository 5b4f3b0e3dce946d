// The reader of berth's own Secrets file layout (core/config/secrets-yaml.ts) must give exactly
// what js-yaml gives — same values, same key order — or give up. Files written by
// renderSecretsFile take it; a seeded walk of mutations (characters, lines, indentation, comments,
// reserved words, duplicates, controls) checks that whatever it accepts, js-yaml reads the same.
import { beforeAll, describe, expect, it } from "vitest";
import { rng } from "../../bench/gen-repo.js";
import { parseText } from "../../core/config/parse.js";
import { readSecretsYaml } from "../../core/config/secrets-yaml.js";
import { renderSecretsFile } from "../../core/secrets/file.js";
import { encryptTo, keypair } from "../secrets/age-fixture.js";
import { linesOf } from "./load-helpers.js";
import { jsYaml, mutateYaml } from "./yaml-mutations.js";

let files: string[];

beforeAll(async () => {
  const [a, b, c] = await Promise.all([keypair(), keypair(), keypair()]);
  const value = async (recipients: string[], v: string, updated?: string) => ({
    recipients: recipients as [string, ...string[]],
    ...(updated ? { updated } : {}),
    ciphertext: await encryptTo(recipients, v),
  });
  const who = (r: string) =>
    r === a.recipient ? "operator alice" : r === b.recipient ? "node web-1 ✓" : undefined;
  files = [
    renderSecretsFile(
      {
        kind: "Secrets",
        app: "web",
        secrets: {
          DB_PASSWORD: await value([b.recipient, a.recipient], "pw", "2026-11-23T10:00:00Z"),
          API_TOKEN: await value([c.recipient], "token ".repeat(30)),
          _x: await value([a.recipient, b.recipient, c.recipient], "x", "2026-11-23T10:00:00.123Z"),
        },
      },
      who,
    ),
    renderSecretsFile({ kind: "Secrets", app: "api-2", secrets: {} }, who),
    renderSecretsFile(
      { kind: "Secrets", app: "a", secrets: { K: await value([a.recipient], "k", "2026-01-01T00:00:00Z") } },
      () => undefined,
    ),
  ];
});

describe("the Secrets file reader", () => {
  it("reads what berth secret writes, with js-yaml's values and key order", () => {
    for (const text of files) {
      const doc = readSecretsYaml(text);
      expect(doc).toBeDefined();
      const expected = jsYaml(text) as unknown[];
      expect(expected).toHaveLength(1);
      expect(JSON.stringify(doc)).toBe(JSON.stringify(expected[0]));
      const parsed = parseText(text);
      expect(parsed.parser).toBe("secrets-file");
      expect(parsed.docs).toEqual(expected);
    }
  });

  it("accepts nothing js-yaml reads differently: a seeded walk of mutations", () => {
    const r = rng(7);
    let accepted = 0;
    let refused = 0;
    for (let i = 0; i < 6000; i++) {
      let text = files[Math.floor(r() * files.length)] as string;
      const steps = 1 + Math.floor(r() * 2);
      for (let k = 0; k < steps; k++) text = mutateYaml(r, text);
      const doc = readSecretsYaml(text);
      if (doc === undefined) {
        refused++;
        continue;
      }
      accepted++;
      const expected = jsYaml(text);
      expect(expected, JSON.stringify(text)).not.toBe("error");
      expect((expected as unknown[]).length, JSON.stringify(text)).toBe(1);
      expect(JSON.stringify(doc), JSON.stringify(text)).toBe(JSON.stringify((expected as unknown[])[0]));
    }
    // Both outcomes are common: harmless edits (comments, trailing spaces in the block) stay on
    // the fast path, the rest goes to js-yaml.
    expect(accepted).toBeGreaterThan(500);
    expect(refused).toBeGreaterThan(2000);
  });

  it("a file that is not laid out as berth writes it is read by the YAML parsers, same values", () => {
    const text = files[2] as string;
    const variants = [
      text.replace("kind: Secrets\napp: a\n", "app: a\nkind: Secrets\n"),
      text.replace("secrets:\n  K:\n", "secrets:\n  K:\n    # a note\n"),
      text.replace("ciphertext: |\n", "ciphertext: |-\n"),
      text.replace(/\n/g, "\r\n"),
      text.replace("app: a\n", "app: null\n"),
      text.replace("  K:\n", "  True:\n"),
      // A secret written twice (a duplicate key: js-yaml refuses it, the careful path says where).
      `${text}${text.slice(text.indexOf("  K:\n"))}`,
      text.replace(/- age1[a-z0-9]+/, "- null"),
    ];
    for (const v of variants) {
      expect(readSecretsYaml(v), v).toBeUndefined();
      const expected = jsYaml(v);
      if (expected === "error") continue;
      expect(parseText(v).docs).toEqual(expected.map((d) => (d === null ? undefined : d)));
    }
  });

  it("positions of problems in a file read by it are those of the text", () => {
    const text = (files[0] as string).replace("app: web", "app: wbe");
    const { errors } = linesOf({
      "secrets/web.yaml": text,
      "apps/web.yaml": "kind: App\nname: web\nimage: x\n",
    });
    expect(errors).toContainEqual(
      expect.stringMatching(/^secrets\/web\.yaml:5:6: secrets for app "wbe", which does not exist/),
    );
  });
});
