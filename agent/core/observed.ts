// A fingerprint of the observed state (instances and the running Caddy config), compared on every
// drift tick with the one taken after the last PROCESSING pass: a killed process, a removed
// container or an edited Caddy config changes it and wakes the loop. Pure.

import { hashOf } from "../../core/canonical-json.js";
import type { ObservedInstance } from "./actions.js";

export interface ObservedState {
  instances: ObservedInstance[];
  /** Hash of Caddy's running config; null when ingress is not managed or Caddy has none. */
  ingressHash: string | null;
}

export function observedFingerprint(o: ObservedState): string {
  const rows = o.instances
    .map((i) => [i.runtime, i.workloadId, i.slot, i.specHash, i.state, i.ref, i.restarts].join("|"))
    .sort();
  return hashOf({ rows, ingress: o.ingressHash });
}
