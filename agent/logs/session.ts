// One log request of the reconciler (someone runs `berth logs`): reads the app's history on this
// node from every source, merges it in time order, keeps the newest lines asked for, and uploads
// it in batches; then, when following, uploads new lines as they come (gathered for a few tens of
// milliseconds) until the reconciler answers that the watcher left. Nothing runs when nobody asked.

import { compileGrep } from "../../core/logs/grep.js";
import { mergeSorted, newest } from "../../core/logs/merge.js";
import type { LogBatch, LogEntry, LogRequest } from "../../schema/index.js";
import type { ObservedInstance } from "../core/actions.js";
import type { LogItem } from "../core/log-parse.js";
import type { RuntimeDriver } from "../runtime/driver.js";
import { type ContainerTarget, readContainerHistory } from "./container-logs.js";
import { Follower } from "./follow.js";
import { type HistoryQuery, readFileHistory } from "./history.js";
import { findSources } from "./sources.js";

export type UploadResult = "ok" | "gone" | "failed";

export interface LogSessionDeps {
  stateDir: string;
  /** Instances on this node now (every runtime). */
  instances(): Promise<ObservedInstance[]>;
  driverOf(runtime: ObservedInstance["runtime"]): RuntimeDriver | undefined;
  /** Values to redact from the app's output (its secret env values and decrypted secrets, current and previous). */
  secrets(app: string): Promise<readonly string[]>;
  upload(id: string, batch: LogBatch, signal: AbortSignal): Promise<UploadResult>;
  /** Registers a callback run after each action the agent takes (new instances may exist). */
  onActivity(fn: () => void): () => void;
  signal: AbortSignal;
  /** Gathering time of live lines before an upload (default 30 ms). */
  gatherMs?: number;
  /** An empty batch is sent after this long without lines, so the reconciler knows the follow lives (15 s). */
  heartbeatMs?: number;
  pollMs?: number;
}

/** Most a batch carries, so a body stays well under the reconciler's 1 MiB limit. */
const maxBatchBytes = 512 * 1024;

const toEntry = (i: LogItem): LogEntry => ({
  time: new Date(i.ms).toISOString(),
  instance: i.instance,
  line: i.line,
  origin: i.origin,
});

/** Splits entries into batches of at most maxBatchBytes (estimated as JSON). */
export function batches(entries: readonly LogEntry[]): LogEntry[][] {
  const out: LogEntry[][] = [];
  let cur: LogEntry[] = [];
  let size = 0;
  for (const e of entries) {
    const s = Buffer.byteLength(e.line) * 2 + 120;
    if (cur.length > 0 && (size + s > maxBatchBytes || cur.length >= 5_000)) {
      out.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(e);
    size += s;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

export async function runLogSession(req: LogRequest, deps: LogSessionDeps): Promise<void> {
  const { signal } = deps;
  const notices: string[] = [];
  let gone = false;
  const send = async (batch: LogBatch): Promise<boolean> => {
    if (gone || signal.aborted) return false;
    for (let attempt = 1; attempt <= 3; attempt++) {
      const r = await deps.upload(req.id, batch, signal);
      if (r === "ok") return true;
      if (r === "gone" || signal.aborted) break;
      await new Promise((ok) => setTimeout(ok, 200 * attempt).unref());
    }
    gone = true;
    return false;
  };

  const grep = req.grep === null ? null : compileGrep(req.grep);
  if (grep && !grep.ok) {
    await send({ entries: [], historyDone: true, done: true, notices: [grep.error] });
    return;
  }
  // Known at the start, and refreshed while following (a deploy may bring new secrets).
  let known = await deps.secrets(req.app);
  const secrets = () => known;
  const q: HistoryQuery = {
    lines: req.lines,
    sinceMs: req.since === null ? null : Date.parse(req.since),
    grep: grep?.ok ? grep.test : null,
    secrets: known,
    following: req.follow,
  };
  const startedAt = new Date().toISOString();
  const containersNow = async (): Promise<ContainerTarget[]> =>
    (await findSources(deps.stateDir, req.app, await deps.instances(), deps.driverOf)).containers;

  let instances: ObservedInstance[] = [];
  try {
    instances = await deps.instances();
  } catch (e) {
    notices.push(`cannot list the instances on this node: ${(e as Error).message}; only log files are shown`);
  }
  const sources = await findSources(deps.stateDir, req.app, instances, deps.driverOf);
  const [fileHistories, containerHistories] = await Promise.all([
    Promise.all(sources.files.map((s) => readFileHistory(s, q))),
    Promise.all(sources.containers.map((t) => readContainerHistory(t, q))),
  ]);
  for (const h of containerHistories) if (h.problem) notices.push(h.problem);
  const history = newest(
    mergeSorted([...fileHistories.map((h) => h.items), ...containerHistories.map((h) => h.items)]),
    req.lines,
  ).map(toEntry);
  if (sources.files.length === 0 && sources.containers.length === 0) {
    notices.push(`no output of ${req.app} on this node (no instance ran here, or its logs were removed)`);
  }
  const parts = batches(history);
  for (let i = 0; i < parts.length - 1; i++) if (!(await send({ entries: parts[i] as LogEntry[] }))) return;
  const last: LogBatch = { entries: parts[parts.length - 1] ?? [], historyDone: true };
  if (notices.length > 0) last.notices = notices.splice(0, 100);
  if (!req.follow) last.done = true;
  if (!(await send(last)) || !req.follow) return;

  // Following: new lines as they come, until the watcher leaves or the agent stops.
  let queue: LogItem[] = [];
  let wake: (() => void) | null = null;
  const poke = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const follower = new Follower(
    {
      stateDir: deps.stateDir,
      app: req.app,
      secrets,
      containers: containersNow,
      notice: (m) => {
        notices.push(m);
        poke();
      },
      ...(deps.pollMs ? { pollMs: deps.pollMs } : {}),
    },
    (items) => {
      for (const i of items) if (!q.grep || q.grep(i.line)) queue.push(i);
      poke();
    },
  );
  follower.start(
    sources.files.flatMap((s, i) => {
      const at = fileHistories[i]?.resumeAt;
      return at === null || at === undefined ? [] : [{ source: s, offset: at }];
    }),
    sources.containers.map((t, i) => ({ target: t, since: containerHistories[i]?.newest ?? startedAt })),
  );
  const unhook = deps.onActivity(() => {
    follower.poke();
    void deps.secrets(req.app).then((s) => {
      known = s;
    });
  });
  const onAbort = () => poke();
  signal.addEventListener("abort", onAbort);
  const heartbeatMs = deps.heartbeatMs ?? 15_000;
  const gatherMs = deps.gatherMs ?? 30;
  try {
    while (!gone && !signal.aborted) {
      if (queue.length === 0 && notices.length === 0) {
        const quiet = await new Promise<boolean>((resolve) => {
          const t = setTimeout(() => resolve(true), heartbeatMs);
          t.unref();
          wake = () => {
            clearTimeout(t);
            resolve(false);
          };
        });
        if (signal.aborted) break;
        if (quiet) {
          if (!(await send({ entries: [] }))) break;
          continue;
        }
        await new Promise((ok) => setTimeout(ok, gatherMs).unref());
      }
      const items = queue;
      queue = [];
      items.sort((a, b) => a.ms - b.ms);
      const entries = items.map(toEntry);
      const chunks = batches(entries);
      if (chunks.length === 0) chunks.push([]);
      for (const [i, chunk] of chunks.entries()) {
        const batch: LogBatch = { entries: chunk };
        if (i === 0 && notices.length > 0) batch.notices = notices.splice(0, 100);
        if (!(await send(batch))) break;
      }
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
    unhook();
    await follower.stop();
    // The agent is stopping: say so, so the watcher is not left waiting for lines.
    if (signal.aborted && !gone) {
      await deps
        .upload(
          req.id,
          { entries: [], done: true, notices: ["the agent on this node is stopping"] },
          AbortSignal.timeout(2_000),
        )
        .catch(() => undefined);
    }
  }
}
