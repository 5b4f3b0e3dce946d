// Builders of desired documents and observed instances for the agent's tests, with hashes computed
// the way the reconciler computes them.
import type { ObservedInstance } from "../../../agent/core/actions.js";
import { documentHash, workloadSpecHash } from "../../../agent/core/document.js";
import type { Slot } from "../../../agent/runtime/driver.js";
import type { DesiredState, Route, Workload } from "../../../schema/index.js";

export type WorkloadInit = Partial<Omit<Workload, "specHash">> & { app: string };

export function workload(init: WorkloadInit): Workload {
  const replica = init.replica ?? 0;
  const w: Omit<Workload, "specHash"> = {
    id: init.id ?? `${init.app}-${replica}`,
    app: init.app,
    replica,
    runtime: init.runtime ?? "process",
    ...(init.image !== undefined ? { image: init.image } : {}),
    ...(init.command !== undefined ? { command: init.command } : {}),
    ...(init.workdir !== undefined ? { workdir: init.workdir } : {}),
    env: init.env ?? {},
    ...(init.secrets !== undefined ? { secrets: init.secrets } : {}),
    ...(init.port !== undefined ? { port: init.port } : {}),
    hostPort: init.hostPort ?? 20000,
    health: init.health ?? {
      path: "/",
      intervalSeconds: 2,
      timeoutSeconds: 2,
      startPeriodSeconds: 30,
      healthyThreshold: 1,
      unhealthyThreshold: 3,
    },
    volumes: init.volumes ?? [],
    strategy: init.strategy ?? "start-first",
  };
  return { ...w, specHash: workloadSpecHash(w as Workload) };
}

export function desiredDoc(
  node: string,
  workloads: Workload[],
  routes: Route[] = [],
  commit = "c".repeat(40),
): DesiredState {
  return {
    apiVersion: "berth/v1",
    node,
    source: { branch: "main", commit },
    hash: documentHash({ workloads, routes }),
    workloads,
    routes,
  };
}

export function instance(
  w: Pick<Workload, "id" | "app" | "specHash" | "hostPort">,
  slot: Slot,
  extra: Partial<ObservedInstance> = {},
): ObservedInstance {
  const port = slot === "a" ? w.hostPort : w.hostPort + 1;
  return {
    ref: `pid:${port}`,
    name: `berth-${w.id}-${slot}`,
    workloadId: w.id,
    app: w.app,
    specHash: w.specHash,
    slot,
    port,
    state: "running",
    restarts: 0,
    runtime: "process",
    ...extra,
  };
}
