// The command runner with real child processes: results whatever the exit code, errors that say
// what ran and its stderr, and no environment value in any description or error.
import { describe, expect, it } from "vitest";
import {
  CommandError,
  describeCommand,
  mustSucceed,
  runCommand,
  scrub,
} from "../../agent/runtime/run-command.js";

describe("describeCommand", () => {
  it.each([
    [
      ["podman", "run", "-e", "TOKEN=abc", "--env", "B=x=y", "--env=C=z", "img"],
      "podman run -e TOKEN=… --env B=… --env=C=… img",
    ],
    [["sh", "-c", "echo hi"], 'sh -c "echo hi"'],
    [["podman", "run", "-e", "NOVALUE"], "podman run -e NOVALUE"],
  ])("%j", (argv, expected) => {
    expect(describeCommand(argv)).toBe(expected);
  });

  it("scrubs secrets of 3+ characters from text", () => {
    expect(scrub("token s3cret and s3cret, id ab", ["s3cret", "ab"])).toBe("token … and …, id ab");
  });
});

describe("runCommand", () => {
  it("returns exit code, stdout and stderr of a failing command without throwing", async () => {
    const r = await runCommand(["sh", "-c", "echo out; echo err >&2; exit 3"]);
    expect(r).toEqual({ exitCode: 3, stdout: "out", stderr: "err" });
  });

  it("mustSucceed says what ran, its exit code and stderr, with env values redacted", async () => {
    const argv = ["sh", "-c", "echo failed with $0 >&2; exit 126", "-e", "SECRET=hunter2"];
    const r = await runCommand(argv, { secrets: ["hunter2"] });
    let err: unknown;
    try {
      mustSucceed(argv, r, "starting web");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CommandError);
    expect((err as Error).message).toBe(
      'starting web: `sh -c "echo failed with $0 >&2; exit 126" -e SECRET=…` exited 126: failed with -e',
    );
    expect((err as Error).message).not.toContain("hunter2");
  });

  it("throws a CommandError naming the binary when it cannot start", async () => {
    await expect(runCommand(["/no/such/podman", "ps", "-e", "K=v4lue"])).rejects.toThrow(
      "`/no/such/podman ps -e K=…` could not be started (ENOENT); is /no/such/podman installed?",
    );
  });

  it("throws when the command outlives its timeout", async () => {
    await expect(runCommand(["sleep", "5"], { timeoutMs: 100 })).rejects.toThrow(
      "`sleep 5` timed out after 100 ms",
    );
  });
});
