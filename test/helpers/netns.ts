// Network namespaces for tests that need hosts with addresses of their own (COMPONENTS.md
// "Several hosts on one machine"). The root namespace is never touched.
//
// createNetns(): one namespace with loopback and, on request, a veth pair inside it carrying the
// addresses asked for (no traffic leaves it). Programs run "on" it through `ip netns exec`.
//
// createCluster(): the multi-host tier. Each host is a namespace with one veth whose peer is a
// port of a bridge that lives in a namespace of its own; addresses come from one private /24 that
// exists only inside these namespaces (every cluster has its own bridge namespace, so two clusters
// never see each other even with the same addresses). cleanup() removes everything the cluster
// made — processes inside its namespaces, podman containers of its private stores, the namespaces
// and temp dirs — and is also run (synchronously) when the process exits without calling it.
// Commands run on a cluster host through `nsenter --net=…` (not `ip netns exec`, which remounts
// /sys and hides the cgroup mounts podman needs).
//
// Names carry the test process's pid and a random suffix, so parallel test workers and other
// people's runs never collide; remove()/cleanup() delete only what they made.
import { type ChildProcess, execFile, execFileSync, type SpawnOptions, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface NetHost {
  name: string;
  /** Namespace name, e.g. bm-1234-x7k2-w1. */
  ns: string;
  /** The host's address on the cluster network. */
  address: string;
  /** A temp dir of this host's own (state dirs, logs, podman store). */
  dir: string;
  /** argv prefix that runs a command in this host's network namespace. */
  prefix(): string[];
  /** Starts a long-running process on the host (its own process group; stopped by cleanup). */
  spawn(cmd: string, args: string[], opts?: SpawnOptions): ChildProcess;
  /** Runs a command on the host to completion. */
  run(
    cmd: string,
    args: string[],
    opts?: { env?: NodeJS.ProcessEnv; timeoutMs?: number },
  ): Promise<RunResult>;
  /**
   * A shell script that runs `cmd` on this host, for code that takes a binary path (Caddy, podman).
   * `env` is set for it, e.g. a private podman store.
   */
  wrap(cmd: string, env?: Record<string, string>): string;
  /** The hard way: the host's bridge port goes down and its packets vanish, nothing is refused. */
  linkDown(): Promise<void>;
  linkUp(): Promise<void>;
  /** The easy way: SIGKILL every process in the host's namespace (connections are then refused). */
  killAll(): Promise<number>;
  /** Environment that gives podman a store of this host's own (after usePodmanStore). */
  podmanEnv: Record<string, string> | null;
  /** Gives the host a private podman store (--root, --runroot, --tmpdir) under its dir. */
  usePodmanStore(): Record<string, string>;
}

export interface Cluster {
  id: string;
  /** e.g. "10.77.0" — hosts get .2, .3, … in the order they are added. */
  subnet: string;
  hosts: Map<string, NetHost>;
  addHost(name: string): Promise<NetHost>;
  cleanup(): Promise<void>;
}

const SUBNET = "10.77.0";

function ip(args: string[]): Promise<RunResult> {
  return runFile("ip", args, {});
}

function runFile(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) =>
        resolve({
          code: err ? (typeof err.code === "number" ? err.code : 1) : 0,
          stdout: String(stdout),
          stderr: String(stderr),
        }),
    );
  });
}

async function must(args: string[]): Promise<void> {
  const r = await ip(args);
  if (r.code !== 0) throw new Error(`ip ${args.join(" ")} failed (${r.code}): ${r.stderr.trim()}`);
}

/** pids of the processes inside namespace `ns` (none when it is gone). */
function pidsIn(ns: string): number[] {
  try {
    return execFileSync("ip", ["netns", "pids", ns], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    })
      .split("\n")
      .filter(Boolean)
      .map(Number)
      .filter((p) => p !== process.pid);
  } catch {
    return [];
  }
}

function killPids(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** Every live cluster of this process, for the exit hook. */
const live = new Set<() => void>();
let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.once("exit", () => {
    for (const sync of live) sync();
  });
}

export async function createCluster(label = "bm"): Promise<Cluster> {
  const id = `${label}-${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
  const bridgeNs = `${id}-br`;
  const root = mkdtempSync(join(tmpdir(), `berth-${id}-`));
  const hosts = new Map<string, NetHost>();
  const children = new Set<ChildProcess>();
  const made: string[] = [];
  let cleaned = false;

  /** Removes podman containers of the private stores (by node label), synchronously. */
  const podmanCleanupSync = (h: NetHost): void => {
    if (!h.podmanEnv) return;
    const env = { ...process.env, ...h.podmanEnv };
    try {
      const ids = execFileSync("podman", ["ps", "-aq"], {
        env,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      })
        .split("\n")
        .filter(Boolean);
      // The store is this host's own: every container in it was made by this cluster.
      if (ids.length) execFileSync("podman", ["rm", "-f", "-t", "0", ...ids], { env, stdio: "ignore" });
    } catch {
      // nothing to remove, or podman gone
    }
  };

  const cleanupSync = (): void => {
    if (cleaned) return;
    cleaned = true;
    live.delete(cleanupSync);
    for (const c of children) {
      try {
        if (c.pid) process.kill(-c.pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    for (const h of hosts.values()) podmanCleanupSync(h);
    for (const ns of made) killPids(pidsIn(ns));
    for (const ns of [...made].reverse()) {
      try {
        execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
      } catch {
        // already gone
      }
    }
    try {
      rmSync(root, { recursive: true, force: true });
    } catch {
      // a mount of the private podman store still busy: left in the temp dir
    }
  };
  live.add(cleanupSync);
  hookExit();

  try {
    await must(["netns", "add", bridgeNs]);
    made.push(bridgeNs);
    await must(["-n", bridgeNs, "link", "add", "br0", "type", "bridge"]);
    await must(["-n", bridgeNs, "link", "set", "br0", "up"]);
  } catch (err) {
    cleanupSync();
    throw err;
  }

  const cluster: Cluster = {
    id,
    subnet: SUBNET,
    hosts,
    async addHost(name) {
      if (hosts.has(name)) throw new Error(`host ${name} exists already`);
      const index = hosts.size;
      const ns = `${id}-${name}`;
      const port = `p${index}`;
      const address = `${SUBNET}.${index + 2}`;
      const dir = join(root, name);
      mkdirSync(dir, { recursive: true });
      await must(["netns", "add", ns]);
      made.push(ns);
      await must(["-n", ns, "link", "set", "lo", "up"]);
      await must(["-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", port, "netns", bridgeNs]);
      await must(["-n", bridgeNs, "link", "set", port, "master", "br0"]);
      await must(["-n", bridgeNs, "link", "set", port, "up"]);
      await must(["-n", ns, "addr", "add", `${address}/24`, "dev", "eth0"]);
      await must(["-n", ns, "link", "set", "eth0", "up"]);
      const nsPath = `/run/netns/${ns}`;
      const prefix = () => ["nsenter", `--net=${nsPath}`, "--"];
      const host: NetHost = {
        name,
        ns,
        address,
        dir,
        podmanEnv: null,
        prefix,
        spawn(cmd, args, opts = {}) {
          const child = spawn("nsenter", [`--net=${nsPath}`, "--", cmd, ...args], {
            ...opts,
            detached: true,
          });
          children.add(child);
          child.once("exit", () => children.delete(child));
          return child;
        },
        run(cmd, args, opts = {}) {
          return runFile("nsenter", [`--net=${nsPath}`, "--", cmd, ...args], opts);
        },
        wrap(cmd, env = {}) {
          const file = join(dir, `run-${cmd.replace(/[^a-z0-9]/gi, "_")}.sh`);
          const exports = Object.entries(env)
            .map(([k, v]) => `export ${k}=${JSON.stringify(v)}\n`)
            .join("");
          writeFileSync(file, `#!/bin/sh\n${exports}exec nsenter --net=${nsPath} -- ${cmd} "$@"\n`);
          chmodSync(file, 0o755);
          return file;
        },
        linkDown: () => must(["-n", bridgeNs, "link", "set", port, "down"]),
        linkUp: () => must(["-n", bridgeNs, "link", "set", port, "up"]),
        async killAll() {
          const pids = pidsIn(ns);
          killPids(pids);
          return pids.length;
        },
        usePodmanStore() {
          const store = join(dir, "podman");
          mkdirSync(join(store, "tmp"), { recursive: true });
          const storageConf = join(store, "storage.conf");
          writeFileSync(
            storageConf,
            `[storage]\ndriver = "overlay"\ngraphroot = "${store}/root"\nrunroot = "${store}/runroot"\n`,
          );
          const base = process.env.CONTAINERS_CONF
            ? readFileSync(process.env.CONTAINERS_CONF, "utf8")
            : "[engine]\n";
          const containersConf = join(store, "containers.conf");
          // tmp_dir keeps podman's runtime state (locks, exit files) apart from other stores.
          writeFileSync(containersConf, base.replace(/\[engine\]\n/, `[engine]\ntmp_dir = "${store}/tmp"\n`));
          host.podmanEnv = { CONTAINERS_STORAGE_CONF: storageConf, CONTAINERS_CONF: containersConf };
          return host.podmanEnv;
        },
      };
      hosts.set(name, host);
      return host;
    },
    async cleanup() {
      // Give processes a chance to stop cleanly first (agents flush, Caddy closes), then clean all.
      for (const c of children) {
        try {
          if (c.pid) process.kill(-c.pid, "SIGTERM");
        } catch {
          // gone
        }
      }
      await Promise.all(
        [...children].map(
          (c) =>
            new Promise<void>((ok) => {
              if (c.exitCode !== null || c.signalCode !== null) return ok();
              const t = setTimeout(ok, 5_000);
              c.once("exit", () => {
                clearTimeout(t);
                ok();
              });
            }),
        ),
      );
      cleanupSync();
    },
  };
  return cluster;
}

/**
 * True when network namespaces can be made here; when not, throws under CI=true (tests may not
 * skip there) and otherwise says why, so the caller can describe.skipIf.
 */
export function requireNamespaces(): boolean {
  if (canMakeNamespaces()) return true;
  const msg = "network namespaces cannot be made here (needs root, iproute2 and nsenter)";
  if (process.env.CI === "true") throw new Error(`${msg} (CI=true: tests may not skip)`);
  console.warn(`SKIP: ${msg}`);
  return false;
}

/** True when network namespaces can be made here (root and iproute2). */
export function canMakeNamespaces(): boolean {
  try {
    execFileSync("ip", ["netns", "list"], { stdio: "ignore" });
    execFileSync("nsenter", ["--version"], { stdio: "ignore" });
    return process.getuid?.() === 0;
  } catch {
    return false;
  }
}

export interface Netns {
  name: string;
  /** `argv` prefixed to run inside the namespace. */
  argv(argv: readonly string[]): string[];
  /** Runs `ip …` inside the namespace (`ip -n NAME …`); throws with stderr on failure. */
  ip(...args: string[]): string;
  remove(): void;
}

function ipSync(args: readonly string[]): string {
  try {
    return execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`ip ${args.join(" ")} failed: ${e.stderr?.trim() || e.message}`);
  }
}

/**
 * A new namespace with loopback up. `addresses` (CIDR, e.g. "10.77.0.1/24") go on one end of a
 * veth pair that lives inside the namespace, so they are this "host's" own, non-loopback addresses.
 */
export function createNetns(opts: { addresses?: string[]; tag?: string } = {}): Netns {
  const name = `berth-${opts.tag ?? "ns"}-${process.pid}-${randomBytes(3).toString("hex")}`;
  ipSync(["netns", "add", name]);
  const ns: Netns = {
    name,
    argv: (argv) => ["ip", "netns", "exec", name, ...argv],
    ip: (...args) => ipSync(["-n", name, ...args]),
    remove() {
      try {
        ipSync(["netns", "del", name]);
      } catch {
        // already gone
      }
    },
  };
  try {
    ns.ip("link", "set", "lo", "up");
    if (opts.addresses?.length) {
      ns.ip("link", "add", "host0", "type", "veth", "peer", "name", "host0p");
      for (const a of opts.addresses) ns.ip("addr", "add", a, "dev", "host0");
      ns.ip("link", "set", "host0", "up");
      ns.ip("link", "set", "host0p", "up");
    }
  } catch (err) {
    ns.remove();
    throw err;
  }
  return ns;
}

export interface Link {
  /** The interface names: `a` inside the first namespace, `b` inside the second. */
  a: string;
  b: string;
  /** Takes the first end down: packets vanish both ways, nothing is refused or closed. */
  down(): void;
  up(): void;
}

let links = 0;

/**
 * A veth pair between two namespaces, `addrA` (CIDR) on the end in `a`, `addrB` on the end in
 * `b`: two hosts on one cable. down() is a cable pulled out (the hard way to lose a node).
 */
export function linkNetns(a: Netns, addrA: string, b: Netns, addrB: string): Link {
  const n = links++;
  const ifA = `l${n}a`;
  const ifB = `l${n}b`;
  a.ip("link", "add", ifA, "type", "veth", "peer", "name", ifB, "netns", b.name);
  a.ip("addr", "add", addrA, "dev", ifA);
  b.ip("addr", "add", addrB, "dev", ifB);
  a.ip("link", "set", ifA, "up");
  b.ip("link", "set", ifB, "up");
  return {
    a: ifA,
    b: ifB,
    down: () => void a.ip("link", "set", ifA, "down"),
    up: () => void a.ip("link", "set", ifA, "up"),
  };
}
