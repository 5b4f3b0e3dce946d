// Resolves the node's address from the desired document and lists this host's interface
// addresses, then asks agent/core/address.ts what they mean (publish and health-check there, or
// the address names another host). Re-done for every accepted document; a name is resolved with
// the system resolver (getaddrinfo), bounded by a deadline.
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { networkInterfaces } from "node:os";
import { type Reach, reachOf } from "../core/address.js";

const resolveDeadlineMs = 5_000;

export async function findReach(node: string, address: string | undefined): Promise<Reach> {
  if (address === undefined) return reachOf({ address, resolved: [], local: [], node });
  const local = Object.values(networkInterfaces())
    .flatMap((list) => list ?? [])
    .map((i) => i.address);
  if (isIP(address)) return reachOf({ address, resolved: [address], local, node });
  let timer: NodeJS.Timeout | undefined;
  try {
    const found = await Promise.race([
      lookup(address, { all: true }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${resolveDeadlineMs} ms`)),
          resolveDeadlineMs,
        );
      }),
    ]);
    return reachOf({ address, resolved: found.map((a) => a.address), local, node });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return reachOf({ address, resolved: [], local, node, resolveError: err.code ?? err.message });
  } finally {
    clearTimeout(timer);
  }
}
