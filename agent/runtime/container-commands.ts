// PURE builders of the podman/docker command lines berth runs. They run nothing (run-command.ts
// does); tests assert them exactly. podman and docker share this CLI contract, so `engine` only
// names argv[0] (the driver may swap in a binary path). Every container berth creates carries the
// berth.* labels below, and every listing filters on them, so unlabelled containers are never seen.
import type { Workload } from "../../schema/index.js";
import { type Slot, slotPort } from "./driver.js";

export type Engine = "podman" | "docker";

export interface ContainerCommandOptions {
  engine: Engine;
  /** Node name, written to the berth.node label; a driver only lists its own node's containers. */
  node: string;
  /**
   * Host address ports are published on (`-p ADDR:HOST:CTR`): the agent passes the node's own
   * address, so workloads are reachable by the proxies and not on every interface (bypassing
   * them). Unset: all interfaces (documents without an address). An IPv6 address is bracketed.
   */
  publishAddress?: string;
}

export const label = {
  managed: "berth.managed",
  app: "berth.app",
  workload: "berth.workload",
  specHash: "berth.spec-hash",
  slot: "berth.slot",
  node: "berth.node",
} as const;

/** Name of the container of `workloadId` in `slot`, e.g. berth-web-0-a. */
export const containerName = (workloadId: string, slot: Slot): string => `berth-${workloadId}-${slot}`;

/** Name of a node-local named volume of an app; kept across deploys and slots. */
export const volumeName = (app: string, volume: string): string => `berth-${app}-${volume}`;

/**
 * How a container's environment reaches the engine without a value on its command line:
 * `file` is an env file (`--env-file`, one KEY=VALUE per line, mode 0600, removed once `run`
 * returned) and `fromEnvironment` the names passed as `-e KEY`, whose values the engine reads from
 * its own environment (for values an env file cannot hold: line breaks).
 */
export interface EnvDelivery {
  file?: string;
  fromEnvironment: string[];
}

/**
 * `run -d` of `w` in `slot`. No env value is ever on the command line (any local user can read
 * /proc/<pid>/cmdline): they arrive through `env` (see EnvDelivery). Throws when the workload has
 * no image (a process workload).
 */
export function runArgv(
  w: Workload,
  slot: Slot,
  opts: ContainerCommandOptions,
  env: EnvDelivery = { fromEnvironment: [] },
): string[] {
  if (!w.image) throw new Error(`workload ${w.id} has no image; the ${opts.engine} runtime runs images only`);
  const argv = [opts.engine, "run", "-d", "--init", "--pull=never", "--name", containerName(w.id, slot)];
  const labels: [string, string][] = [
    [label.managed, "true"],
    [label.app, w.app],
    [label.workload, w.id],
    [label.specHash, w.specHash],
    [label.slot, slot],
    [label.node, opts.node],
  ];
  for (const [k, v] of labels) argv.push("--label", `${k}=${v}`);
  if (w.port !== undefined) {
    const host = slotPort(w, slot);
    const at = opts.publishAddress?.includes(":") ? `[${opts.publishAddress}]` : opts.publishAddress;
    argv.push("-p", at ? `${at}:${host}:${w.port}` : `${host}:${w.port}`);
  }
  if (env.file) argv.push("--env-file", env.file);
  // Sorted so the same workload always gives the same command line.
  for (const k of [...env.fromEnvironment].sort()) argv.push("-e", k);
  for (const v of w.volumes) argv.push("-v", `${volumeName(w.app, v.name)}:${v.path}`);
  argv.push(w.image);
  if (w.command) argv.push(...w.command);
  return argv;
}

/** Names the engine itself reads from its environment: never set them for it (see splitEnv). */
const ENGINE_VARIABLES =
  /^(PATH|HOME|USER|LOGNAME|SHELL|PWD|TMPDIR|TMP|TEMP|LANG|LANGUAGE|LC_[A-Z]+|TZ|TERM|IFS|NOTIFY_SOCKET|(LD|GO|CONTAINERS?|DOCKER|BUILDAH|STORAGE|REGISTRY|PODMAN|XDG|DBUS|SSL|SYSTEMD|LISTEN|CONMON|RUNC|CRUN)_?[A-Z0-9_]*|[A-Z_]*PROXY)$/i;

/**
 * Splits a container's environment between an env file and the engine's own environment. An env
 * file holds one KEY=VALUE per line and keeps the value's bytes after the first "=" as they are
 * (podman and docker both), so only line breaks cannot go there; such values go through the
 * engine's environment as `-e KEY`, unless the name is one the engine itself reads (PATH,
 * LD_PRELOAD, CONTAINERS_CONF…), which would change how the engine runs: that is an error.
 */
export function splitEnv(
  env: Readonly<Record<string, string>>,
  engineEnv: Readonly<Record<string, string | undefined>> = {},
): { fileText: string; fileKeys: string[]; fromEnvironment: Record<string, string> } | { error: string } {
  const lines: string[] = [];
  const fileKeys: string[] = [];
  const fromEnvironment: Record<string, string> = {};
  for (const k of Object.keys(env).sort()) {
    const v = env[k] as string;
    if (!/[\r\n]/.test(v)) {
      lines.push(`${k}=${v}`);
      fileKeys.push(k);
      continue;
    }
    if (ENGINE_VARIABLES.test(k) || engineEnv[k] !== undefined) {
      return {
        error: `env ${k} holds a value with a line break, which podman and docker take only from their own environment, where ${k} would change how the engine itself runs: give the variable another name`,
      };
    }
    fromEnvironment[k] = v;
  }
  return { fileText: lines.length > 0 ? `${lines.join("\n")}\n` : "", fileKeys, fromEnvironment };
}

/** Every berth-managed container of `node`, running or not, as JSON. */
export function listArgv(opts: Pick<ContainerCommandOptions, "engine" | "node">): string[] {
  return [
    opts.engine,
    "ps",
    "-a",
    "--format",
    "json",
    "--filter",
    `label=${label.managed}=true`,
    "--filter",
    `label=${label.node}=${opts.node}`,
  ];
}

/**
 * Details of one container (labels included) as a JSON array, both engines' default output (docker
 * reads `--format` as a template). Exits non-zero when it does not exist.
 */
export const inspectArgv = (engine: Engine, ref: string): string[] => [
  engine,
  "inspect",
  "--type",
  "container",
  ref,
];

/** SIGTERM, then SIGKILL after the grace period (whole seconds, rounded up). */
export const stopArgv = (engine: Engine, ref: string, graceMs: number): string[] => [
  engine,
  "stop",
  "-t",
  String(Math.max(0, Math.ceil(graceMs / 1000))),
  ref,
];

/** Removes a container (killing it if it still runs). Exits 0 even when it does not exist. */
export const rmArgv = (engine: Engine, ref: string): string[] => [engine, "rm", "-f", ref];

/** Blocks until the container exits and prints its exit code (both engines). */
export const waitArgv = (engine: Engine, ref: string): string[] => [engine, "wait", ref];

/** The container's last `lines` lines of output (stdout on stdout, stderr on stderr). */
export const logsArgv = (engine: Engine, ref: string, lines: number): string[] => [
  engine,
  "logs",
  "--tail",
  String(Math.max(1, Math.floor(lines))),
  ref,
];

/**
 * Output of a container with the engine's timestamps (RFC 3339, nanoseconds), stdout on stdout and
 * stderr on stderr: the newest `tail` lines, those after `since` (exclusive, an RFC 3339 time), and
 * with `follow` until the container stops.
 */
export function timestampedLogsArgv(
  engine: Engine,
  ref: string,
  opts: { tail?: number; since?: string; follow?: boolean } = {},
): string[] {
  const argv = [engine, "logs", "--timestamps"];
  if (opts.follow) argv.push("--follow");
  if (opts.tail !== undefined) argv.push("--tail", String(opts.tail));
  if (opts.since !== undefined) argv.push("--since", opts.since);
  argv.push(ref);
  return argv;
}
