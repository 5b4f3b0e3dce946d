// `berth logs` and `berth restart` mistakes as a person makes them: each gets one line saying what
// is wrong (and a hint where one helps), exit code 1, and never a stack trace.
import { describe, expect, it } from "vitest";
import { freePort } from "../../agent/ingress/caddy-process.js";
import { runBerth } from "../helpers/berth-cli.js";

describe("berth logs / berth restart: user mistakes", () => {
  const cases: [string, string[], RegExp][] = [
    [
      "-n that is not a number",
      ["logs", "web", "-n", "lots"],
      /^error: -n lots: give a whole number of lines from 0 to 10000\n$/,
    ],
    ["-n too large", ["logs", "web", "-n", "20000"], /^error: -n 20000: /],
    [
      "--since that is neither",
      ["logs", "web", "--since", "yesterday"],
      /^error: --since: since "yesterday" is neither a duration/,
    ],
    [
      "--grep that backtracks",
      ["logs", "web", "--grep", "(x)\\1"],
      /^error: --grep: grep pattern .* needs backtracking/,
    ],
    [
      "--grep that is not a pattern",
      ["logs", "web", "--grep", "(open"],
      /^error: --grep: grep pattern "\(open" is not a valid regular expression/,
    ],
  ];
  it.each(cases)("%s", async (_n, args, stderr) => {
    const r = await runBerth([...args, "--url", "http://127.0.0.1:9"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(stderr);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe("");
  });

  it("no reconciler there", async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    for (const args of [
      ["logs", "web"],
      ["restart", "web"],
    ]) {
      const r = await runBerth([...args, "--url", url]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        new RegExp(
          `^error: cannot reach the reconciler at ${url}: ECONNREFUSED\\nhint: is \`berth serve\` \\(or \`berth up\`\\) running there\\? Point --url at it\\n$`,
        ),
      );
    }
  });
});
