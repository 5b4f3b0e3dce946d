// One workload of a desired document: an app's replica as a node must run it, with health
// defaults filled and its specHash. Settings defaults are already merged into the app by the
// loader (core/config). Pure.

import { healthDefaults, type Runtime, type Workload } from "../../schema/index.js";
import { canonicalJson, sha256Hex } from "../canonical-json.js";
import type { AppSpec } from "../config/model.js";

/** Builds workload `<app>-<replica>` for a node with `runtime`, listening on `hostPort` (and +1). */
export function workloadOf(app: AppSpec, replica: number, runtime: Runtime, hostPort: number): Workload {
  return workloadWithJson(app, replica, runtime, hostPort).workload;
}

/** The workload and its canonical JSON (specHash included), which the node hash is made of. */
export function workloadWithJson(
  app: AppSpec,
  replica: number,
  runtime: Runtime,
  hostPort: number,
): { workload: Workload; json: string } {
  const body: Omit<Workload, "specHash"> = {
    id: `${app.name}-${replica}`,
    app: app.name,
    replica,
    runtime,
    ...(app.image !== undefined ? { image: app.image } : {}),
    ...(app.command !== undefined ? { command: [...app.command] } : {}),
    ...(app.workdir !== undefined ? { workdir: app.workdir } : {}),
    env: sortedEnv(app.env ?? {}),
    ...(app.port !== undefined ? { port: app.port } : {}),
    hostPort,
    // With no health block the check is a TCP connect (no path) with the default timings.
    health: { ...healthDefaults(), ...app.health },
    volumes: (app.volumes ?? []).map((v) => ({ name: v.name, path: v.path })),
    strategy: app.strategy,
  };
  const bodyJson = canonicalJson(body);
  const specHash = `sha256:${sha256Hex(bodyJson)}`;
  // The canonical JSON of the whole workload is the body's with "specHash" at its sorted place,
  // right before the top-level "strategy" (always present). Only env can hold a key named
  // strategy and env sorts before it, so the last ',"strategy":' is the top-level one. This saves
  // serialising every workload twice on a cold build; a test checks it against canonicalJson.
  const at = bodyJson.lastIndexOf(',"strategy":');
  const json = `${bodyJson.slice(0, at)},"specHash":${JSON.stringify(specHash)}${bodyJson.slice(at)}`;
  return { workload: { ...body, specHash }, json };
}

function sortedEnv(env: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(env).sort()) out[k] = env[k] as string;
  return out;
}
