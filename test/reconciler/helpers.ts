// Shared pieces of the reconciler tests: a small valid config, an event sink that records, a
// logger that keeps its lines in memory (to check that no secret is logged), polling with a
// deadline, and readers of the desired/status branches through the real git binary.
import { createHash } from "node:crypto";
import { Writable } from "node:stream";
import pino, { type Logger } from "pino";
import type { BerthEvent, EventSink, EventType } from "../../reconciler/contracts.js";
import { runGit } from "../helpers/git-repo.js";

export const tokenOf = (node: string) => `token-of-${node}-0123456789`;
export const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

export function nodeYaml(name: string, extra = ""): string {
  return `kind: Node\nname: ${name}\naddress: 10.0.0.${(name.length % 200) + 1}\nruntime: podman\nroles: [worker, proxy]\ntokenSha256: ${sha256(tokenOf(name))}\n${extra}`;
}

export function appYaml(name: string, image: string, replicas = 1): string {
  return `kind: App\nname: ${name}\nimage: ${image}\nport: 8080\nreplicas: ${replicas}\n`;
}

/** A valid repo: one node, one app, one domain. */
export function baseConfig(image = "nginx:1.25"): Record<string, string> {
  return {
    "berth.yaml": "kind: Settings\nbranch: main\n",
    "nodes/node-a.yaml": nodeYaml("node-a"),
    "apps/web.yaml": appYaml("web", image),
    "domains/www.yaml": "kind: Domain\nhost: www.example.com\napp: web\n",
  };
}

/** An App document that fails its schema (replicas < 0). */
export const invalidApp = "kind: App\nname: web\nimage: nginx:1.26\nport: 8080\nreplicas: -1\n";

export interface RecordingSink extends EventSink {
  events: BerthEvent[];
  of(type: EventType): BerthEvent[];
}

export function recordingSink(): RecordingSink {
  const events: BerthEvent[] = [];
  return {
    events,
    emit(type, data) {
      events.push({ id: `test-${events.length + 1}`, type, time: new Date().toISOString(), data });
    },
    of: (type) => events.filter((e) => e.type === type),
  };
}

export interface MemoryLogger {
  logger: Logger;
  lines: string[];
}

export function memoryLogger(): MemoryLogger {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: pino({ level: "debug" }, stream), lines };
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes (then throws `what`). */
export async function waitFor<T>(
  what: string,
  check: () => T | Promise<T>,
  timeoutMs = 30_000,
  /** What the state was when the wait timed out, for the error (a test that flakes says why). */
  explain?: () => string,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${explain ? `; ${explain()}` : ""}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface DesiredCommit {
  oid: string;
  parents: string[];
  subject: string;
  generation: number;
  source: string;
}

/** First-parent history of `branch` in the git dir `gitdir`, oldest first, with meta.json read. */
export function desiredHistory(cwd: string, branch = "berth/desired"): DesiredCommit[] {
  const exists = runGit(cwd, "for-each-ref", `refs/heads/${branch}`);
  if (!exists) return [];
  const lines = runGit(cwd, "log", "--first-parent", "--reverse", "--format=%H %P%x09%s", branch).split("\n");
  return lines.map((line) => {
    const [ids = "", subject = ""] = line.split("\t");
    const [oid = "", ...parents] = ids.trim().split(" ");
    const meta = JSON.parse(runGit(cwd, "show", `${oid}:meta.json`)) as {
      generation: number;
      source: { commit: string };
    };
    return { oid, parents, subject, generation: meta.generation, source: meta.source.commit };
  });
}

/** Whether `a` is an ancestor of (or equal to) `b` in the repo at `cwd`. */
export function isAncestor(cwd: string, a: string, b: string): boolean {
  try {
    runGit(cwd, "merge-base", "--is-ancestor", a, b);
    return true;
  } catch {
    return false;
  }
}
