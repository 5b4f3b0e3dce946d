// No diagnostic, log line or event repeats the value of an env entry or of a secret-looking field.
// A commit whose App has `env.API_TOKEN: 98765432123` (a number where a string is wanted) is
// refused with a message that says what is wrong and how to fix it — without the value — in
// `berth validate`, the loader's diagnostics, the reconciler's log and event stream, /v1/nodes,
// `berth status --url` and the forge's berth/plan commit status. Harmless values are still quoted
// where they help (an enum typo, a name pattern).
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { formatDiagnostic, loadFromFiles } from "../../core/config/index.js";
import { toFiles } from "../config/load-helpers.js";
import { cliArgs, projectRoot, runBerth } from "../helpers/berth-cli.js";
import { useTempRepos } from "../helpers/git-repo.js";
import { startRecordingForge } from "../helpers/recording-forge.js";
import { requireTool } from "../helpers/tools.js";
import { baseConfig, waitFor } from "./helpers.js";

const ok = requireTool("git");
const NUMBER = "98765432123";
const app = (env: string) => `kind: App\nname: web\nimage: nginx:1.25\nport: 8080\nenv:\n${env}`;

describe("secret values in diagnostics", () => {
  const lines = (files: Record<string, string>) =>
    loadFromFiles(toFiles({ ...baseConfig(), ...files })).diagnostics.map((d) => formatDiagnostic(d));

  for (const [what, env, said] of [
    [
      "a number",
      `  API_TOKEN: ${NUMBER}\n`,
      "env.API_TOKEN must be a string, not a number: write the value in quotes",
    ],
    [
      "a boolean",
      "  PASSWORD: true\n",
      "env.PASSWORD must be a string, not true or false: write the value in quotes",
    ],
    [
      "a number under a harmless name",
      `  REVISION: ${NUMBER}\n`,
      "env.REVISION must be a string, not a number",
    ],
  ] as const) {
    it(`an env value that is ${what} is not repeated`, () => {
      const out = lines({ "apps/web.yaml": app(env) });
      expect(out).toHaveLength(1);
      expect(out[0]).toContain(said);
      expect(out.join("\n")).not.toContain(NUMBER);
      expect(out.join("\n")).not.toMatch(/"true"/);
    });
  }

  it("an env value in berth.yaml defaults is not repeated either", () => {
    const out = lines({
      "berth.yaml": `kind: Settings\nbranch: main\ndefaults:\n  env:\n    SECRET_KEY: ${NUMBER}\n`,
    });
    expect(out.join("\n")).toContain("defaults.env.SECRET_KEY must be a string, not a number");
    expect(out.join("\n")).not.toContain(NUMBER);
  });

  it("harmless values are still quoted where they help", () => {
    expect(lines({ "apps/web.yaml": `${app("  A: b\n")}strategy: start-frist\n` }).join("\n")).toContain(
      'strategy "start-frist" is not one of start-first, stop-first; did you mean "start-first"?',
    );
    expect(lines({ "apps/web.yaml": `${app("  A: b\n")}replicas: lots\n` }).join("\n")).toContain(
      'replicas must be a whole number, not the string "lots"',
    );
  });
});

describe.skipIf(!ok)("secret values through the reconciler and the forge", () => {
  const temp = useTempRepos();
  const children: ChildProcess[] = [];
  afterEach(async () => {
    for (const c of children.splice(0)) {
      if (c.exitCode === null && c.signalCode === null) {
        c.kill("SIGKILL");
        await new Promise((r) => c.once("exit", r));
      }
    }
  });

  it("a refused commit names the field, never the value, everywhere it is reported", {
    timeout: 120_000,
  }, async () => {
    const forge = await startRecordingForge({ kind: "github" });
    try {
      const settings = `kind: Settings\nbranch: main\nforge:\n  kind: github\n  apiUrl: ${forge.url}\n  repo: ${forge.repo}\n`;
      const repo = await temp.makeRepo({ ...baseConfig(), "berth.yaml": settings });
      const tokenFile = join(temp.makeTempDir("berth-forge-"), "token");
      writeFileSync(tokenFile, forge.token);
      const child = spawn(
        process.execPath,
        cliArgs(["serve", "--repo", repo.dir, "--listen", "127.0.0.1:0", "--forge-token-file", tokenFile]),
        { cwd: projectRoot, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } },
      );
      children.push(child);
      let log = "";
      child.stderr?.on("data", (d: Buffer) => {
        log += d.toString();
      });
      child.stdout?.on("data", (d: Buffer) => {
        log += d.toString();
      });
      const url = await waitFor("API url", () => /"url":"(http:[^"]+)"/.exec(log)?.[1], 60_000);
      const bad = await repo.commit(
        { "apps/web.yaml": app(`  API_TOKEN: ${NUMBER}\n`) },
        "token as a number",
      );
      const status = await waitFor(
        "berth/plan failure on the bad commit",
        () => {
          const st = forge.latestStatus(bad, "berth/plan");
          return st?.state === "failure" ? st : undefined;
        },
        60_000,
      );
      expect(status.description).toContain("env.API_TOKEN");

      const events = await (await fetch(`${url}/v1/events?follow=0`)).text();
      const nodes = await (await fetch(`${url}/v1/nodes`)).text();
      expect(nodes).toContain("env.API_TOKEN must be a string, not a number");
      const statusCli = await runBerth(["status", "--url", url]);
      expect(statusCli.stdout).toContain("env.API_TOKEN must be a string, not a number");
      const validate = await runBerth(["validate", "--repo", repo.dir]);
      expect(validate.code).toBe(1);
      expect(validate.stdout + validate.stderr).toContain("env.API_TOKEN must be a string, not a number");

      for (const [where, text] of [
        ["serve's log", log],
        ["the event stream", events],
        ["/v1/nodes", nodes],
        ["berth status --url", statusCli.stdout + statusCli.stderr],
        ["berth validate", validate.stdout + validate.stderr],
        ["the forge's requests", JSON.stringify(forge.requests)],
      ] as const) {
        expect(text, where).not.toContain(NUMBER);
      }
    } finally {
      await forge.close();
    }
  });
});
