// scripts/gen-validators.mjs rewrites ajv's `minLength: 1` checks to `.length < 1` (ajv counts
// code points by walking the whole string: a ciphertext is about a kilobyte). The rewrite must keep
// what the schemas say: an empty string is refused, one astral character (two UTF-16 units) is
// one character, and every other length still counts code points.
import { describe, expect, it } from "vitest";
import { withDefaults } from "../../schema/validators.generated.js";

const secrets = (ciphertext: string) => ({
  kind: "Secrets",
  app: "web",
  secrets: { K: { recipients: [`age1${"q".repeat(58)}`], ciphertext } },
});

describe("generated string length checks", () => {
  it("minLength 1: empty refused, one character (astral too) accepted", () => {
    expect(withDefaults.secrets(secrets(""))).toBe(false);
    // ajv sets `errors` on the function; the generated declarations do not say so.
    const { errors } = withDefaults.secrets as unknown as { errors: unknown };
    expect(JSON.stringify(errors)).toContain("minLength");
    expect(withDefaults.secrets(secrets("x"))).toBe(true);
    expect(withDefaults.secrets(secrets("😀"))).toBe(true);
    expect(withDefaults.app({ kind: "App", name: "web", image: "" })).toBe(false);
    expect(withDefaults.app({ kind: "App", name: "web", image: "a" })).toBe(true);
  });

  it("other lengths still count code points, not UTF-16 units", () => {
    const settings = (urlSecret: string) => ({
      kind: "Settings",
      alerts: { receivers: [{ name: "hook", kind: "slack", urlSecret }] },
    });
    // 150 astral characters: 300 UTF-16 units, 150 code points, within maxLength 200.
    expect(withDefaults.settings(settings("😀".repeat(150)))).toBe(true);
    expect(withDefaults.settings(settings("😀".repeat(201)))).toBe(false);
  });
});
