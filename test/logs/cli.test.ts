// `berth logs` and `berth restart` mistakes as a person makes them: each gets one line saying what
// is wrong (and a hint where one helps), exit code 1, and never a stack trace.
import { describe, expect, it } from "vitest";
import { textView } from "../../cli/commands/logs.js";
import { runBerth } from "../helpers/berth-cli.js";
import { freePort } from "../helpers/ports.js";

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

describe("berth logs text view", () => {
  it("prints clean lines unchanged and strips what would move the terminal from a misbehaving agent", () => {
    const out: string[] = [];
    const err: string[] = [];
    const view = textView((_s, t) => t, { out: (s) => out.push(s), err: (s) => err.push(s) });
    view.line({
      time: "2026-01-01T00:00:00.000Z",
      node: "a",
      instance: "berth-web-0-a",
      line: "plain ✓ text",
      origin: "app",
    });
    view.line({
      time: "2026-01-01T00:00:01.000Z",
      node: "a",
      instance: "berth-web-0-b\u001b[2J",
      line: "\u001b]0;owned\u0007red\u001b[31m!\u001b[0m\u0000",
      origin: "app",
    });
    view.line({
      time: "2026-01-01T00:00:02.000Z",
      node: "a",
      instance: "berth",
      line: "done: x",
      origin: "berth",
    });
    view.notice({ level: "warning", message: "node b\u001b[1A did not answer" });
    expect(out).toEqual([
      "2026-01-01T00:00:00.000Z a/web-0-a  plain ✓ text\n",
      "2026-01-01T00:00:01.000Z a/web-0-b  red!\n",
      "2026-01-01T00:00:02.000Z a/berth    [berth] done: x\n",
    ]);
    expect(err).toEqual(["berth logs: node b did not answer\n"]);
  });
});
