// Host ports of the workloads on one node. Each workload owns a slot of two consecutive ports
// (hostPort and hostPort+1, the start-first surge slot). A workload's preferred slot comes from a
// hash of its id, so it keeps its port while it stays on the node whatever else comes and goes;
// only when two workloads want the same slot does one of them probe to the next free one.
// Pure.
import { hashString } from "./hash32.js";

/**
 * hostPort of each id (same order). `ids` must be in canonical order (app name, then replica):
 * first every id that gets its preferred slot takes it (earlier ids win a tie), then the others
 * probe upwards, wrapping around. Throws when there are more ids than slots (placement counts
 * slots as capacity, so that is a bug).
 */
export function allocatePorts(ids: readonly string[], portLow: number, slots: number): number[] {
  if (ids.length > slots)
    throw new Error(`allocatePorts: ${ids.length} workloads for ${slots} slots (this is a bug)`);
  const taken = new Set<number>();
  const slotOf = new Array<number>(ids.length).fill(-1);
  const preferred = ids.map((id) => hashString(id) % slots);
  for (let k = 0; k < ids.length; k++) {
    const want = preferred[k]!;
    if (!taken.has(want)) {
      taken.add(want);
      slotOf[k] = want;
    }
  }
  for (let k = 0; k < ids.length; k++) {
    if (slotOf[k] !== -1) continue;
    let s = preferred[k]!;
    while (taken.has(s)) s = (s + 1) % slots;
    taken.add(s);
    slotOf[k] = s;
  }
  return slotOf.map((s) => portLow + 2 * s);
}
