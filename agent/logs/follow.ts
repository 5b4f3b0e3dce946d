// Following an app's output while someone watches (`berth logs -f`): its log files are polled for
// new bytes every `pollMs` (a few stats per poll, only while a watcher is there), its containers
// are followed through the engine, and new instances are picked up as they appear — a restart or
// a replace in the middle of a follow shows the new instance from its first line. A log rotated
// under the follower is read to its end in its rotated copy before going on in the live file.
import type { FileHandle } from "node:fs/promises";
import { entryOf, type LogItem, type TimeSource } from "../core/log-parse.js";
import { type ContainerFollower, type ContainerTarget, followContainer } from "./container-logs.js";
import { type ForwardState, forwardFrom, openIfExists, readForward } from "./file-lines.js";
import type { FileSource } from "./history.js";
import { findFileSources } from "./sources.js";

export interface FollowDeps {
  stateDir: string;
  app: string;
  secrets(): readonly string[];
  /** The app's containers now (running or exited); empty for the process runtime. */
  containers(): Promise<ContainerTarget[]>;
  /** How often files are checked for new lines (default 100 ms). */
  pollMs?: number;
  /** How often new instances are looked for, besides poke() (default 2 s). */
  discoverMs?: number;
  /** Told when a source cannot be read (once per source). */
  notice(message: string): void;
}

interface TrackedFile {
  source: FileSource;
  fh: FileHandle | null;
  state: ForwardState;
  lastMs: number;
}

export class Follower {
  private readonly files = new Map<string, TrackedFile>();
  private readonly containers = new Map<string, ContainerFollower>();
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private discoverTimer: NodeJS.Timeout | null = null;
  private discovering: Promise<void> | null = null;
  private rediscover = false;

  constructor(
    private readonly deps: FollowDeps,
    private readonly onItems: (items: LogItem[]) => void,
  ) {}

  /** Follows these files from these offsets and these containers after these times; the rest as found. */
  start(
    files: { source: FileSource; offset: number }[],
    containers: { target: ContainerTarget; since: string | null }[],
  ): void {
    for (const f of files)
      this.files.set(f.source.path, { source: f.source, fh: null, state: forwardFrom(f.offset), lastMs: 0 });
    for (const c of containers) this.followContainer(c.target, c.since);
    this.schedulePoll();
    this.discoverTimer = setInterval(() => this.poke(), this.deps.discoverMs ?? 2_000);
    this.discoverTimer.unref();
  }

  /** Looks for new instances now (the agent calls it after every action it runs). */
  poke(): void {
    if (this.stopped) return;
    if (this.discovering) {
      this.rediscover = true;
      return;
    }
    this.discovering = this.discover()
      .catch((e: Error) => this.deps.notice(`looking for new instances failed: ${e.message}`))
      .finally(() => {
        this.discovering = null;
        if (this.rediscover) {
          this.rediscover = false;
          this.poke();
        }
      });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.discoverTimer) clearInterval(this.discoverTimer);
    for (const c of this.containers.values()) c.stop();
    await Promise.all([...this.containers.values()].map((c) => c.done));
    await this.discovering;
    for (const f of this.files.values()) await f.fh?.close().catch(() => undefined);
  }

  private followContainer(target: ContainerTarget, since: string | null): void {
    if (this.containers.has(target.ref)) return;
    this.containers.set(
      target.ref,
      followContainer(target, since, this.deps.secrets, (items) => this.onItems(items)),
    );
  }

  private async discover(): Promise<void> {
    for (const source of await findFileSources(this.deps.stateDir, this.deps.app)) {
      if (!this.files.has(source.path))
        this.files.set(source.path, { source, fh: null, state: forwardFrom(0), lastMs: 0 });
    }
    for (const target of await this.deps.containers()) this.followContainer(target, null);
  }

  private schedulePoll(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.pollFiles()
        .catch((e: Error) => this.deps.notice(`reading new lines failed: ${e.message}`))
        .finally(() => this.schedulePoll());
    }, this.deps.pollMs ?? 100);
    this.timer.unref();
  }

  private async pollFiles(): Promise<void> {
    for (const f of this.files.values()) {
      if (this.stopped) return;
      f.fh ??= await openIfExists(f.source.path);
      if (!f.fh) continue;
      const st = await f.fh.stat();
      const time: TimeSource =
        f.source.kind === "journal"
          ? { kind: "markers" }
          : { kind: "stamps", stamps: [], mtime: Math.floor(st.mtimeMs) };
      if (st.size < f.state.offset) await this.rotated(f, time);
      if (st.size <= f.state.offset) continue;
      this.emit(f, await readForward(f.fh, f.state, st.size), time);
    }
  }

  /** The live file was truncated by rotation: what was not read yet is in its `.1` copy. */
  private async rotated(f: TrackedFile, time: TimeSource): Promise<void> {
    const copy = await openIfExists(`${f.source.path}.1`);
    if (copy) {
      try {
        const size = (await copy.stat()).size;
        if (size > f.state.offset) this.emit(f, await readForward(copy, f.state, size), time);
      } finally {
        await copy.close();
      }
    }
    f.state = forwardFrom(0);
  }

  private emit(f: TrackedFile, raws: Awaited<ReturnType<typeof readForward>>, time: TimeSource): void {
    const items: LogItem[] = [];
    const secrets = this.deps.secrets();
    for (const raw of raws) {
      const item = entryOf(raw, { instance: f.source.instance, time, secrets });
      if (!item) continue;
      item.ms = Math.max(item.ms, f.lastMs);
      f.lastMs = item.ms;
      items.push(item);
    }
    if (items.length > 0) this.onItems(items);
  }
}
