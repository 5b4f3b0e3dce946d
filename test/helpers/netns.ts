// Network namespaces for tests that need a host with an address of its own: each namespace
// gets loopback and, on request, a veth pair inside it carrying the addresses asked for (no
// traffic leaves the namespace; the root namespace is never touched). Names are unique per test
// process (berth-<pid>-<random>), and remove() deletes only the namespace it made. Programs run
// "on" the host through `ip netns exec` (argv()). Reusable by the multi-host tier, which adds
// bridges between such namespaces.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";

export interface Netns {
  name: string;
  /** `argv` prefixed to run inside the namespace. */
  argv(argv: readonly string[]): string[];
  /** Runs `ip …` inside the namespace (`ip -n NAME …`); throws with stderr on failure. */
  ip(...args: string[]): string;
  remove(): void;
}

function ip(args: readonly string[]): string {
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
  ip(["netns", "add", name]);
  const ns: Netns = {
    name,
    argv: (argv) => ["ip", "netns", "exec", name, ...argv],
    ip: (...args) => ip(["-n", name, ...args]),
    remove() {
      try {
        ip(["netns", "del", name]);
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
