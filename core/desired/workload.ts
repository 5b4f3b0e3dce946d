// One workload of a desired document: an app's replica as a node must run it, with health
// defaults filled, its canonical JSON and its specHash. Settings defaults are already merged into
// the app by the loader (core/config). Pure.
//
// Everything that does not depend on the replica (env, health, volumes and their canonical JSON
// fragments) is computed once per app spec (appParts; the builder keeps it with the app) and
// shared by its replicas: a cold build makes 20,000 workloads and this keeps it to string joins. The JSON equals canonicalJson(workload); a test
// checks it over varied specs.
import { healthDefaults, type Runtime, type Workload } from "../../schema/index.js";
import { canonicalJson, sha256Hex, sortedKeys } from "../canonical-json.js";
import type { AppSpec } from "../config/model.js";
import { isResolvedSecretRef } from "../secrets/resolve.js";

/** What the replicas of one app spec share; build it once per spec with appParts(). */
export interface AppParts {
  env: Workload["env"];
  /** Env entries taken from secrets, with their ciphertext (core/secrets/resolve.ts); absent when none. */
  secrets?: NonNullable<Workload["secrets"]>;
  health: Workload["health"];
  volumes: Workload["volumes"];
  command?: string[];
  /** Canonical JSON fragments around the per-replica fields, in sorted key order. */
  beforeHostPort: string;
  beforeReplica: string;
  /** `,"secrets":{…}` or the empty string: the key sorts between runtime and specHash. */
  afterRuntime: string;
  afterSpecHash: string;
}

export function appParts(app: AppSpec): AppParts {
  const env: Workload["env"] = {};
  let secrets: NonNullable<Workload["secrets"]> | undefined;
  for (const k of sortedKeys(app.env ?? {})) {
    const v = (app.env as Record<string, unknown>)[k];
    if (typeof v === "string") env[k] = v;
    else if (isResolvedSecretRef(v)) {
      secrets ??= {};
      secrets[k] = { secret: v.secret, ciphertext: v.ciphertext };
    }
    // A reference without ciphertext (a secret that does not exist) never gets here: validation refuses it.
  }
  // With no health block the check is a TCP connect (no path) with the default timings.
  const health: Workload["health"] = { ...healthDefaults(), ...app.health };
  const volumes = (app.volumes ?? []).map((v) => ({ name: v.name, path: v.path }));
  const command = app.command !== undefined ? [...app.command] : undefined;
  const q = JSON.stringify;
  // Keys of a workload in code-unit order: app, command, env, health, hostPort, id, image, port,
  // replica, runtime, specHash, strategy, volumes, workdir.
  const before = [`{"app":${q(app.name)}`];
  if (command) before.push(`,"command":${canonicalJson(command)}`);
  before.push(`,"env":${canonicalJson(env)}`, `,"health":${canonicalJson(health)}`);
  const mid: string[] = [];
  if (app.image !== undefined) mid.push(`,"image":${q(app.image)}`);
  if (app.port !== undefined) mid.push(`,"port":${canonicalJson(app.port)}`);
  const after = [`,"strategy":${q(app.strategy)}`, `,"volumes":${canonicalJson(volumes)}`];
  if (app.workdir !== undefined) after.push(`,"workdir":${q(app.workdir)}`);
  after.push("}");
  // Joined, so each fragment is one flat string (see canonical-json.ts).
  const beforeHostPort = before.join("");
  const beforeReplica = mid.join("");
  const afterRuntime = secrets ? `,"secrets":${canonicalJson(secrets)}` : "";
  const afterSpecHash = after.join("");
  return {
    env,
    ...(secrets ? { secrets } : {}),
    health,
    volumes,
    beforeHostPort,
    beforeReplica,
    afterRuntime,
    afterSpecHash,
    ...(command ? { command } : {}),
  };
}

/** Builds workload `<app>-<replica>` for a node with `runtime`, listening on `hostPort` (and +1). */
export function workloadOf(app: AppSpec, replica: number, runtime: Runtime, hostPort: number): Workload {
  return workloadWithJson(app, appParts(app), replica, runtime, hostPort).workload;
}

/** The workload and its canonical JSON (specHash included), which the node hash is made of. */
export function workloadWithJson(
  app: AppSpec,
  p: AppParts,
  replica: number,
  runtime: Runtime,
  hostPort: number,
): { workload: Workload; json: string } {
  const id = `${app.name}-${replica}`;
  // The app name is a DNS label and runtime an enum: neither needs escaping. Array#join gives a
  // flat string, where template concatenation would give a deep rope that every later join and
  // hash has to walk (measured: most of a cold build's hashing time).
  const middle = [
    p.beforeHostPort,
    ',"hostPort":',
    hostPort,
    ',"id":"',
    id,
    '"',
    p.beforeReplica,
    ',"replica":',
    replica,
    ',"runtime":"',
    runtime,
    '"',
    p.afterRuntime,
  ].join("");
  const specHash = `sha256:${sha256Hex(middle + p.afterSpecHash)}`;
  const workload: Workload = {
    id,
    app: app.name,
    replica,
    runtime,
    ...(app.image !== undefined ? { image: app.image } : {}),
    ...(p.command !== undefined ? { command: p.command } : {}),
    ...(app.workdir !== undefined ? { workdir: app.workdir } : {}),
    env: p.env,
    ...(p.secrets ? { secrets: p.secrets } : {}),
    ...(app.port !== undefined ? { port: app.port } : {}),
    hostPort,
    health: p.health,
    volumes: p.volumes,
    strategy: app.strategy,
    specHash,
  };
  return { workload, json: [middle, ',"specHash":"', specHash, '"', p.afterSpecHash].join("") };
}
