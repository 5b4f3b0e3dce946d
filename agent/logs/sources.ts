// Where an app's output lives on this node: the logs of its process instances (live and those of
// earlier instances still on disk), its containers (running or exited) and the saved output of
// containers berth removed, and its journal. Listing only; reading is history.ts / follow.ts.
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { ObservedInstance } from "../core/actions.js";
import {
  appOfInstance,
  berthInstance,
  logFiles,
  parseProcessLogName,
  parseSavedContainerName,
} from "../core/log-parse.js";
import type { RuntimeDriver } from "../runtime/driver.js";
import type { ContainerTarget } from "./container-logs.js";
import type { FileSource } from "./history.js";

export interface AppSources {
  files: FileSource[];
  containers: ContainerTarget[];
}

export const logsDir = (stateDir: string): string => join(stateDir, "logs");

async function list(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch {
    return [];
  }
}

/** The app's process logs (live files) and journal in the logs dir. */
export async function findFileSources(stateDir: string, app: string): Promise<FileSource[]> {
  const dir = logsDir(stateDir);
  const out: FileSource[] = [];
  for (const name of await list(dir)) {
    const p = parseProcessLogName(name);
    if (p && p.generation === 0 && appOfInstance(p.instance) === app) {
      out.push({ kind: "process", instance: p.instance, path: join(dir, name) });
    }
  }
  const journal = logFiles.journal(app);
  if ((await list(join(dir, "apps"))).includes(journal)) {
    out.push({ kind: "journal", instance: berthInstance, path: join(dir, "apps", journal) });
  }
  return out;
}

/** Every source of the app's output on this node. */
export async function findSources(
  stateDir: string,
  app: string,
  instances: readonly ObservedInstance[],
  driverOf: (runtime: ObservedInstance["runtime"]) => RuntimeDriver | undefined,
): Promise<AppSources> {
  const files = await findFileSources(stateDir, app);
  const containers: ContainerTarget[] = [];
  const live = new Set<string>();
  for (const i of instances) {
    if (i.app !== app || i.runtime === "process") continue;
    const d = driverOf(i.runtime);
    if (!d?.logCommand) continue;
    const argv = d.logCommand.bind(d);
    containers.push({ instance: i.name, ref: i.ref, argv: (o) => argv(i.ref, o) });
    live.add(i.ref.slice(0, 12));
  }
  const savedDir = join(logsDir(stateDir), "containers");
  for (const name of await list(savedDir)) {
    const s = parseSavedContainerName(name);
    if (!s || appOfInstance(s.instance) !== app || live.has(s.id)) continue;
    files.push({ kind: "saved", instance: s.instance, path: join(savedDir, name) });
  }
  files.sort((a, b) => a.instance.localeCompare(b.instance) || a.path.localeCompare(b.path));
  containers.sort((a, b) => a.instance.localeCompare(b.instance) || a.ref.localeCompare(b.ref));
  return { files, containers };
}
