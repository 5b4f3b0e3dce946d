// What the reconciler (reconciler.ts) is given and what it offers: its options, the hooks that
// observe its outcomes (forge statuses, deploy tracking) and the interface the HTTP layer, the CLI
// and the alerts use.
import type { Logger } from "pino";
import type { SettingsSpec } from "../core/config/model.js";
import type { LivenessBounds } from "../core/status/liveness.js";
import type { Diagnostic, NodeStatus } from "../schema/index.js";
import type { ApiBackend, BranchRole, EventSink, HistoryBackend, LoopObserver } from "./contracts.js";
import type { ContactBook } from "./liveness/contacts.js";
import type { LivenessChange } from "./liveness/watch.js";
import type { BranchSettings } from "./source/config-input.js";
import type { ConfigSource } from "./source/types.js";

export interface ReconcilerOptions {
  /** Local mode: the config repo's directory (watched; branches written into its .git). */
  repoDir?: string;
  /** Remote mode: fetched into the bare cache `cacheDir`; branches pushed. */
  remote?: { url: string; token?: string; cacheDir: string };
  /** Tracked branch; default: the `branch` of berth.yaml on the repo's default branch, else main. */
  branch?: string;
  /** Safety-net check interval: remote fetch (default 60 s) or local ref check (default 5 s). */
  pollIntervalMs?: number;
  events: EventSink;
  logger: Logger;
  /** Status commits happen at most once per this many ms (default 2000). */
  statusBatchMs?: number;
  /** Observers of outcomes (forge commit statuses, deploy tracking). Must not throw. */
  hooks?: ReconcilerHooks;
  /**
   * Called during start() once the branches (and berth.yaml's forge) are known, before the first
   * run: the place to fill `hooks` from the settings.
   */
  onSettings?: (settings: BranchSettings) => void | Promise<void>;
  /**
   * A problem (publishing or status writes failing, the tracked branch ahead of what is
   * published) that lasts this long makes the reconciler degraded (default 60 s).
   */
  degradedAfterMs?: number;
  /** A ref lock unchanged this long is a crash's leftover and is removed (default 10 s). */
  lockStaleMs?: number;
  /** How long one ref update waits for a lock that is not stale before it fails (default 2 s). */
  lockWaitMs?: number;
  /** Told of every run's outcome and duration, every fetch and every push (metrics, alert facts). */
  observers?: LoopObserver[];
  /** Branch name → role for the observers, beside the three branches of the settings. */
  extraRoles?: (settings: BranchSettings) => Record<string, BranchRole>;
  /**
   * Repo-wide settings of the newest valid commit: at start (from the tracked tip) and after each
   * valid commit, published or not (alert receivers and rules, publicUrl). Must not throw.
   */
  onConfig?: (settings: Pick<SettingsSpec, "alerts" | "publicUrl">) => void;
  /** Liveness bounds (defaults: core/status/liveness.ts defaultLivenessBounds). */
  liveness?: Partial<LivenessBounds>;
}

export interface ReconcilerHooks {
  planning?(commit: string): void;
  /** `affected`: node → new document hash for every node whose document changed (empty: unchanged). */
  published?(commit: string, summary: string, affected: ReadonlyMap<string, string>): void;
  rejected?(commit: string, diagnostics: Diagnostic[]): void;
  nodeStatus?(node: string, status: NodeStatus): void;
  /** A node's liveness verdict changed (also emitted as node-stale / node-lost / node-back). */
  nodeLiveness?(change: LivenessChange): void;
}

export interface Reconciler extends ApiBackend, HistoryBackend {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Settles when no work is pending (tests). */
  idle(): Promise<void>;
  /** Agent contact: the HTTP layer records every authenticated call and held long-poll here. */
  contacts: ContactBook;
  /** The liveness bounds in use (the HTTP layer caps long-polls at pollHoldMs). */
  livenessBounds(): LivenessBounds;
  /** The branches in use and the forge berth.yaml names (known after start). */
  settings(): BranchSettings;
  /** Reading and compare-and-swap writing of branches of the config repo (the alerts branch). */
  branches(): Pick<ConfigSource, "git" | "mode" | "refresh" | "tip" | "publish">;
}
