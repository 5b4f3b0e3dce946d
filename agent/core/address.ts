// Where this node's workloads are reached: the node's `address` from the desired document
// (upstreamAddress, what every proxy dials) checked against this host's own interface addresses.
// Decides only: the address to publish container ports on and health-check at, or the reason
// the address cannot work here (it names another host). Pure: resolving names and listing
// interfaces is the shell's job (agent/loop/node-address.ts).
import { isIP } from "node:net";
import { isLoopback } from "../../core/address.js";
import type { Runtime } from "../../schema/index.js";

export type Reach =
  /** No address in the document (an older reconciler): the previous behaviour, loopback checks. */
  | { kind: "none"; host: string }
  /** The address is this host's: publish and health-check there. */
  | { kind: "local"; address: string; host: string }
  /** The address is not this host's: proxies would dial another machine. */
  | { kind: "not-local"; address: string; message: string };

export { isLoopback } from "../../core/address.js";

/**
 * The verdict for `address` given what it resolves to and this host's interface addresses.
 * `override` (the agent's --publish-address) replaces the document's address when given.
 */
export function reachOf(input: {
  address: string | undefined;
  /** IPs the address resolves to (the address itself when it is an IP). */
  resolved: readonly string[];
  /** IPs of this host's interfaces. */
  local: readonly string[];
  node: string;
  /** Set when resolving failed: why. */
  resolveError?: string;
}): Reach {
  const { address, node } = input;
  if (address === undefined) return { kind: "none", host: "127.0.0.1" };
  if (input.resolveError) {
    return {
      kind: "not-local",
      address,
      message: `the address of node ${node} (${address}, nodes/${node}.yaml) does not resolve here: ${input.resolveError}; proxies cannot reach ${node}'s workloads either`,
    };
  }
  const own = new Set(input.local.map(normal));
  const hit = input.resolved.find((ip) => own.has(normal(ip)) || isLoopback(ip));
  if (hit !== undefined) return { kind: "local", address, host: isIP(address) ? address : hit };
  const names =
    input.resolved.length > 0 && input.resolved[0] !== address
      ? ` (resolves to ${input.resolved.join(", ")})`
      : "";
  const mine = [...own].filter((ip) => !isLoopback(ip)).slice(0, 8);
  return {
    kind: "not-local",
    address,
    message: `the address of node ${node}, ${address}${names}, is not an address of this host (its addresses: ${mine.join(", ") || "none but loopback"}): proxies would send ${node}'s traffic to another machine; fix \`address\` in nodes/${node}.yaml (or start the agent with --publish-address)`,
  };
}

const normal = (ip: string): string => ip.replace(/^::ffff:/i, "").toLowerCase();

/**
 * The detail of a failed health check at the node's address when the app answers on loopback:
 * it listens on 127.0.0.1 only, so proxies on other nodes cannot reach it.
 */
export function loopbackOnlyDetail(address: string, port: number, detail: string): string {
  return `listens on 127.0.0.1 only: proxies on other nodes cannot reach it at ${hostPort(address, port)} (${detail}); make it listen on 0.0.0.0 or on $HOST, which berth sets to ${address}`;
}

const hostPort = (host: string, port: number): string =>
  host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;

/** Where a workload's health is checked: the node's address, or why it cannot be. */
export type HealthPlace = { host: string; loopbackHint: boolean } | { error: string };

export function healthPlace(reach: Reach, runtime: Runtime): HealthPlace {
  // Never probe an address that is not ours: it could be another node running the same app on
  // the same port, which would answer "healthy" for a workload nobody can reach.
  if (reach.kind === "not-local") return { error: reach.message };
  // A process binds where it likes; when the address probe fails, loopback tells why.
  return { host: reach.host, loopbackHint: runtime === "process" && !isLoopback(reach.host) };
}
