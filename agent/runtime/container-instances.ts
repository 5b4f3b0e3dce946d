// PURE: turns the JSON that `podman ps -a --format json` / `docker ps -a --format json` print into
// Instances. podman prints one JSON array with Labels as an object and Names as an array; docker
// prints one JSON object per line with Labels as "k=v,k=v" and Names as a string. Both are read.
// A container without berth.managed=true is dropped here too (defence in depth behind the filter).

import { label } from "./container-commands.js";
import type { Instance, Slot } from "./driver.js";

/** The fields berth reads from one container of a listing, in one shape for both engines. */
export interface ContainerSummary {
  id: string;
  name: string;
  labels: Record<string, string>;
  /** Engine state: running, exited, created, paused, restarting, dead… */
  state: string;
  exitCode: number | null;
  /** When it exited (ms epoch), when the engine says (podman does, docker's ps does not). */
  exitedAt: number | null;
  restarts: number;
  /** First published host port, when any. */
  hostPort: number | null;
}

type Json = Record<string, unknown>;

/** Parses a whole `ps --format json` output (array, JSON lines, or empty). */
export function parsePsOutput(stdout: string): ContainerSummary[] {
  const text = stdout.trim();
  if (text === "") return [];
  const rows: unknown[] = text.startsWith("[")
    ? (JSON.parse(text) as unknown[])
    : text
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => JSON.parse(l) as unknown);
  return rows.map((r) => summarize(r as Json));
}

function summarize(r: Json): ContainerSummary {
  const names = r.Names;
  const name = Array.isArray(names) ? String(names[0] ?? "") : String(names ?? "");
  return {
    id: String(r.Id ?? r.ID ?? ""),
    name: name.replace(/^\//, ""),
    labels: parseLabels(r.Labels),
    state: String(r.State ?? "").toLowerCase(),
    exitCode: typeof r.ExitCode === "number" ? r.ExitCode : exitCodeFromStatus(String(r.Status ?? "")),
    exitedAt: typeof r.ExitedAt === "number" && r.ExitedAt > 0 ? r.ExitedAt * 1000 : null,
    restarts: typeof r.Restarts === "number" ? r.Restarts : 0,
    hostPort: firstHostPort(r.Ports),
  };
}

function parseLabels(v: unknown): Record<string, string> {
  if (v && typeof v === "object")
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, String(x)]));
  const out: Record<string, string> = {};
  if (typeof v === "string") {
    for (const pair of v.split(",")) {
      const eq = pair.indexOf("=");
      if (eq > 0) out[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return out;
}

function exitCodeFromStatus(status: string): number | null {
  const m = /^Exited \((-?\d+)\)/.exec(status);
  return m ? Number(m[1]) : null;
}

function firstHostPort(ports: unknown): number | null {
  if (Array.isArray(ports)) {
    for (const p of ports as Json[]) {
      const hp = p.host_port ?? p.hostPort ?? p.PublicPort;
      if (typeof hp === "number" && hp > 0) return hp;
    }
    return null;
  }
  // docker: "127.0.0.1:20017->8080/tcp, …"
  const m = typeof ports === "string" ? /:(\d+)->/.exec(ports) : null;
  return m ? Number(m[1]) : null;
}

/**
 * The Instance a managed container stands for, or null when it is not berth's (or half-labelled).
 * `now` stands in for the exit time when the engine does not say it.
 */
export function toInstance(c: ContainerSummary, now: number): Instance | null {
  const l = c.labels;
  const slot = l[label.slot];
  const workloadId = l[label.workload];
  if (l[label.managed] !== "true" || !workloadId || (slot !== "a" && slot !== "b")) return null;
  const base = {
    ref: c.id,
    name: c.name,
    workloadId,
    app: l[label.app] ?? "",
    specHash: l[label.specHash] ?? "",
    slot: slot as Slot,
    port: c.hostPort ?? 0,
    restarts: c.restarts,
  };
  switch (c.state) {
    case "running":
    case "paused":
      return { ...base, state: "running", ...(c.state === "paused" ? { lastError: "paused" } : {}) };
    case "restarting":
      return { ...base, state: "starting" };
    case "created":
    case "configured":
    case "initialized":
      // Created but never started (e.g. its host port was taken): it will not start by itself.
      return { ...base, state: "exited", lastError: "created but not started" };
    default:
      return {
        ...base,
        state: "exited",
        lastError: c.exitCode === null ? `container ${c.state || "gone"}` : `exited with code ${c.exitCode}`,
        exit: { code: c.exitCode, signal: null, at: c.exitedAt ?? now },
      };
  }
}
