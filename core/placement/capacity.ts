// Used capacity per node while apps are placed one after another, in exact integer units.
// Pure data; the placer owns one of these per run.
import type { PlacementNode } from "./nodes.js";
import type { AppRequest } from "./request.js";

export interface CapacityState {
  cpu: Float64Array;
  memory: Float64Array;
  slots: Int32Array;
}

export function emptyState(n: number): CapacityState {
  return { cpu: new Float64Array(n), memory: new Float64Array(n), slots: new Int32Array(n) };
}

/** Whether one more replica of `app` fits on `node` given what is already used there. */
export function fits(state: CapacityState, node: PlacementNode, app: AppRequest): boolean {
  const i = node.index;
  return (
    state.slots[i]! < node.slots &&
    state.cpu[i]! + app.cpu <= node.cpu &&
    state.memory[i]! + app.memory <= node.memory
  );
}

/** Adds (sign 1) or removes (sign -1) the replicas of `app` placed on `nodes`. */
export function applyFootprint(
  state: CapacityState,
  app: AppRequest,
  nodes: readonly number[],
  sign: 1 | -1,
): void {
  for (const i of nodes) {
    state.cpu[i]! += sign * app.cpu;
    state.memory[i]! += sign * app.memory;
    state.slots[i]! += sign;
  }
}

/** Adds one replica of `app` on node `i` (applyFootprint for one node, without an array). */
export function addReplica(state: CapacityState, app: AppRequest, i: number): void {
  state.cpu[i]! += app.cpu;
  state.memory[i]! += app.memory;
  state.slots[i]!++;
}
