// RuntimeDriver for the "podman" and "docker" runtimes: runs, lists and removes berth-labelled
// containers through the engine's CLI. Command lines come from container-commands.ts; this shell
// only runs them and checks results (not exit codes alone: `rm -f` of a missing name exits 0),
// and names the failures it recognises (image missing or not pullable, host port taken) as facts.
// It never touches a container that lacks berth.managed=true or belongs to another node.
import { rmSync } from "node:fs";
import type { Workload } from "../../schema/index.js";
import type { FailureFact } from "../core/cause.js";
import { saveContainerOutput } from "../logs/container-logs.js";
import {
  containerName,
  type Engine,
  inspectArgv,
  label,
  listArgv,
  logsArgv,
  rmArgv,
  runArgv,
  splitEnv,
  stopArgv,
  timestampedLogsArgv,
  waitArgv,
} from "./container-commands.js";
import { parsePsOutput, toInstance } from "./container-instances.js";
import type { Instance, InstanceExit, RuntimeDriver, Slot } from "./driver.js";
import { StartError, slotPort } from "./driver.js";
import { defaultEnvDir, ensureEnvDir, removeEnvFile, sweepEnvDir, writeEnvFile } from "./env-file.js";
import { CommandError, mustSucceed, runCommand } from "./run-command.js";

export interface ContainerDriverOptions {
  engine: Engine;
  /** Path of the engine's binary (default: `podman` / `docker` on PATH). */
  bin?: string;
  /** Node name: written to the berth.node label and used to filter listings. */
  node: string;
  /**
   * Host address to publish ports on, or a function asked at each start (the agent gives the
   * node's address from the desired document). Unset or undefined: all interfaces.
   */
  publishAddress?: string | (() => string | undefined);
  /** Deadline of one engine command (default 60 s; `stop` adds its grace period). */
  commandTimeoutMs?: number;
  /**
   * Where the output of a container is saved before berth removes it (`berth logs` shows it as
   * the previous instance's output); none when unset.
   */
  savedLogsDir?: string;
  /** Decrypts the secrets a workload's env takes (agent/secrets); without it such a workload cannot start. */
  resolveSecrets?: (
    app: string,
    secrets: NonNullable<Workload["secrets"]>,
  ) => Promise<Record<string, string>>;
  /** Where env files live for the moment of a `run` (default: a tmpfs directory, env-file.ts). */
  envDir?: string;
}

export function createContainerDriver(opts: ContainerDriverOptions): RuntimeDriver {
  const { engine } = opts;
  const timeoutMs = opts.commandTimeoutMs ?? 60_000;
  const envDir = opts.envDir ?? defaultEnvDir(opts.node);
  let envDirUsed = false;
  // Env files left by an agent killed in the middle of a start hold values: remove them now.
  sweepEnvDir(envDir);
  const withBin = (argv: string[]): string[] => (opts.bin ? [opts.bin, ...argv.slice(1)] : argv);
  const run = (
    argv: string[],
    extra: {
      signal?: AbortSignal;
      secrets?: string[];
      timeoutMs?: number;
      all?: boolean;
      env?: Record<string, string>;
    } = {},
  ) => runCommand(withBin(argv), { timeoutMs, ...extra });

  /** The whole environment of `w`'s container: plain values and decrypted secrets. */
  async function environmentOf(w: Workload): Promise<Record<string, string>> {
    if (!w.secrets || Object.keys(w.secrets).length === 0) return { ...w.env };
    if (!opts.resolveSecrets)
      throw new Error(`cannot start ${w.id}: its env takes secrets, and this agent cannot decrypt any`);
    return { ...w.env, ...(await opts.resolveSecrets(w.app, w.secrets)) };
  }

  async function list(): Promise<Instance[]> {
    const argv = listArgv({ engine, node: opts.node });
    const r = mustSucceed(withBin(argv), await run(argv), "listing containers");
    const now = Date.now();
    return parsePsOutput(r.stdout)
      .map((c) => toInstance(c, now))
      .filter((i): i is Instance => i !== null);
  }

  /** The managed container named `name` on this node, if any. */
  async function findByName(name: string): Promise<Instance | undefined> {
    return (await list()).find((i) => i.name === name);
  }

  async function removeManaged(ref: string, doing: string): Promise<void> {
    const argv = rmArgv(engine, ref);
    mustSucceed(withBin(argv), await run(argv), doing);
  }

  async function start(w: Workload, slot: Slot, signal?: AbortSignal): Promise<Instance> {
    const name = containerName(w.id, slot);
    const existing = await findByName(name);
    if (existing?.state === "running" || existing?.state === "starting") {
      throw new Error(
        `cannot start ${name}: a container with that name is already ${existing.state} (${existing.ref.slice(0, 12)}); stop it first`,
      );
    }
    // A stopped container of ours under the same name would make `run --name` fail: it is spent.
    if (existing) await removeManaged(existing.ref, `removing exited container ${name}`);

    const env = await environmentOf(w);
    const split = splitEnv(env, process.env);
    if ("error" in split) throw new Error(`cannot start ${name}: ${split.error}`);
    const secrets = Object.values(env);
    let file: string | undefined;
    if (split.fileText !== "") {
      ensureEnvDir(envDir);
      envDirUsed = true;
      file = writeEnvFile(envDir, name, split.fileText);
    }
    const delivery = { ...(file ? { file } : {}), fromEnvironment: Object.keys(split.fromEnvironment) };
    const publishAddress =
      typeof opts.publishAddress === "function" ? opts.publishAddress() : opts.publishAddress;
    const argv = runArgv(
      w,
      slot,
      { engine, node: opts.node, ...(publishAddress ? { publishAddress } : {}) },
      delivery,
    );
    let r: Awaited<ReturnType<typeof run>>;
    try {
      r = await run(argv, { signal, secrets, env: split.fromEnvironment });
    } finally {
      // The engine has read the file once `run` returned (or never will): the values live on only
      // in the container's own configuration, which the engine keeps.
      if (file) removeEnvFile(file);
    }
    if (r.exitCode !== 0) {
      // A failed `run` may leave a Created container behind (podman: host port in use → exit 126).
      // Remove it, but only when it is ours: an unmanaged container may own that name.
      const leftover = await findByName(name).catch(() => undefined);
      if (leftover) await removeManaged(leftover.ref, `removing ${name} left behind by a failed run`);
      const portTaken = /address already in use/i.test(r.stderr);
      const doing = portTaken
        ? `starting ${name}: host port ${slotPort(w, slot)} is already in use on this node (free it or change the node's portRange)`
        : /name .* is already in use/i.test(r.stderr) && !leftover
          ? `starting ${name}: the name is taken by a container this node does not manage (another berth node on this host, or one made by hand); remove or rename it`
          : `starting ${name}`;
      try {
        mustSucceed(withBin(argv), r, doing);
      } catch (e) {
        const message = (e as Error).message;
        throw new StartError(
          message,
          runFailure(r.stderr, w.image ?? "", portTaken ? slotPort(w, slot) : null, message),
        );
      }
    }
    const id = r.stdout.trim().split("\n").pop() ?? "";
    return {
      ref: id,
      name,
      workloadId: w.id,
      app: w.app,
      specHash: w.specHash,
      slot,
      port: w.port !== undefined ? slotPort(w, slot) : 0,
      state: "running",
      restarts: 0,
    };
  }

  async function stop(instance: Instance, graceMs: number): Promise<void> {
    const ref = instance.ref || instance.name;
    const inspect = inspectArgv(engine, ref);
    const found = await run(inspect);
    if (found.exitCode !== 0) {
      if (/no such|not found/i.test(found.stderr)) return; // already gone: not an error
      mustSucceed(withBin(inspect), found, `inspecting ${instance.name}`);
    }
    const labels = readInspectLabels(found.stdout);
    if (labels[label.managed] !== "true" || labels[label.node] !== opts.node) {
      throw new Error(
        `refusing to stop container ${ref}: it is not managed by berth on node ${opts.node} (labels ${label.managed}/${label.node} missing)`,
      );
    }
    const stopCmd = stopArgv(engine, ref, graceMs);
    const stopped = await run(stopCmd, { timeoutMs: timeoutMs + graceMs });
    // `stop` of a container that exited meanwhile is fine; `rm -f` below is what must hold.
    if (stopped.exitCode !== 0 && !/no such|not found|not running/i.test(stopped.stderr)) {
      mustSucceed(withBin(stopCmd), stopped, `stopping ${instance.name}`);
    }
    // Once removed, its output is gone from the engine: keep it for `berth logs`.
    if (opts.savedLogsDir) {
      await saveContainerOutput(
        {
          instance: instance.name,
          ref: readInspectId(found.stdout) ?? ref,
          argv: (o) => withBin(timestampedLogsArgv(engine, ref, o)),
        },
        opts.savedLogsDir,
      );
    }
    await removeManaged(ref, `removing ${instance.name}`);
    const still = await findByName(instance.name);
    if (still && still.ref === instance.ref) {
      throw new CommandError(
        `removing ${instance.name}: the container is still there after \`${engine} rm -f\``,
        `${engine} rm -f ${ref}`,
        null,
        "",
      );
    }
  }

  async function waitExit(instance: Instance, signal: AbortSignal): Promise<InstanceExit | null> {
    const ref = instance.ref || instance.name;
    if (signal.aborted) return null;
    try {
      // No deadline of its own: it lasts as long as the caller waits (the signal ends it).
      const r = await run(waitArgv(engine, ref), { signal, timeoutMs: 24 * 3_600_000 });
      // `wait` may end quietly on the SIGTERM of a cancel: that is not an exit of the container.
      if (signal.aborted) return null;
      const printed = r.stdout.trim().split("\n").pop() ?? "";
      if (r.exitCode === 0 && /^-?\d+$/.test(printed))
        return { code: Number(printed), signal: null, at: Date.now() };
    } catch {
      if (signal.aborted) return null;
    }
    // `wait` itself failed (the engine hiccuped, or the container is gone): ask the listing instead,
    // so a hiccup is never reported as an exit of a container that runs.
    for (;;) {
      const all = await list().catch(() => null);
      if (signal.aborted) return null;
      const found = all?.find((i) => i.ref === instance.ref);
      if (all !== null && found === undefined) return { code: null, signal: null, at: Date.now() };
      if (found?.state === "exited") return found.exit ?? { code: null, signal: null, at: Date.now() };
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }

  async function tail(instance: Instance, lines: number): Promise<string> {
    const r = await run(logsArgv(engine, instance.ref || instance.name, lines), { all: true });
    return r.exitCode === 0 ? (r.all ?? r.stdout) : "";
  }

  return {
    kind: engine,
    list,
    start,
    stop,
    waitExit,
    tail,
    logCommand: (ref, o) => withBin(timestampedLogsArgv(engine, ref, o)),
    // Containers run under the engine, not under this process: only the env file directory is ours.
    close: async (o) => {
      if (o?.stopAll) for (const i of await list()) await stop(i, 10_000);
      if (envDirUsed) rmSync(envDir, { recursive: true, force: true });
    },
  };
}

function readInspectId(stdout: string): string | undefined {
  const parsed = JSON.parse(stdout || "[]") as { Id?: string }[];
  return parsed[0]?.Id;
}

/** What a failed `run` says, as a fact: a missing or unpullable image, a taken port, or the engine's words. */
export function runFailure(
  stderr: string,
  image: string,
  takenPort: number | null,
  message: string,
): FailureFact {
  if (takenPort !== null) return { kind: "port-in-use", port: takenPort };
  // A pull that was tried and failed (not podman's --pull=never, but a docker client or a config
  // that pulls) says so with one of these; the image name itself may contain anything.
  if (
    /trying to pull|pinging container registry|initializing source|manifest unknown|unable to pull|error pulling|pull access denied/i.test(
      stderr,
    )
  ) {
    const last = stderr.trim().split("\n").pop() ?? stderr;
    return { kind: "image-pull", image, detail: last.replace(/^Error:\s*/, "") };
  }
  if (/image not known|no such image|unable to find image/i.test(stderr))
    return { kind: "image-missing", image };
  return { kind: "runtime", detail: message };
}

function readInspectLabels(stdout: string): Record<string, string> {
  const parsed = JSON.parse(stdout || "[]") as { Config?: { Labels?: Record<string, string> | null } }[];
  return parsed[0]?.Config?.Labels ?? {};
}
