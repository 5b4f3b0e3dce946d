// What the reconciler cannot do right now, as data: publishing that keeps failing, status writes
// that keep failing, and a tracked branch whose tip stays ahead of what is handled (published,
// found unchanged or rejected as invalid). Each problem starts counting at its first sign and is
// reported once it has lasted `degradedAfterMs`, so a single retried hiccup is not an alarm but a
// stall always is. Feeds /healthz (non-200 while degraded), /v1/nodes, `berth status --url`,
// metrics and the `degraded` / `recovered` events. No I/O, no timers: times are passed in.

export type ProblemName = "publish-failing" | "status-write-failing" | "publish-behind";

export const problemNames: readonly ProblemName[] = [
  "publish-failing",
  "status-write-failing",
  "publish-behind",
];

export interface HealthProblem {
  problem: ProblemName;
  /** What is wrong, for a person: since when, how often, the last error. */
  message: string;
  /** ISO time of the first sign of the problem. */
  since: string;
}

export interface HealthView {
  status: "ok" | "degraded";
  problems: HealthProblem[];
}

interface Failing {
  since: number;
  count: number;
  last: string;
}

const short = (commit: string) => commit.slice(0, 7);

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`;
}

export class HealthTracker {
  private publishing: Failing | null = null;
  private statusWrites: Failing | null = null;
  /** Newest tip of the tracked branch seen (a read of the ref, a fetch, a webhook's `after`). */
  private seenTip: string | null = null;
  private handledTip: string | null = null;
  private behindSince: number | null = null;

  constructor(
    private readonly degradedAfterMs: number,
    private readonly branch: () => string,
  ) {}

  publishFailed(message: string, now: number): void {
    this.publishing = fail(this.publishing, message, now);
  }

  /** A run ended without error (published, unchanged, rejected, or nothing new). */
  publishSucceeded(): void {
    this.publishing = null;
  }

  statusWriteFailed(message: string, now: number): void {
    this.statusWrites = fail(this.statusWrites, message, now);
  }

  statusWriteSucceeded(): void {
    this.statusWrites = null;
  }

  /** The tracked branch is at `tip` (as far as this process knows). */
  tipSeen(tip: string, now: number): void {
    this.seenTip = tip;
    this.updateBehind(now);
  }

  /** `tip` was published, found unchanged or rejected: nothing more to do for it. */
  handled(tip: string | null, now: number): void {
    this.handledTip = tip;
    this.updateBehind(now);
  }

  view(now: number): HealthView {
    const problems: HealthProblem[] = [];
    const due = (since: number) => now - since >= this.degradedAfterMs;
    const p = this.publishing;
    if (p && due(p.since)) {
      problems.push({
        problem: "publish-failing",
        message: `publishing has failed ${p.count} time${p.count === 1 ? "" : "s"} in the last ${ago(now - p.since)} (retrying): ${p.last}`,
        since: new Date(p.since).toISOString(),
      });
    }
    const s = this.statusWrites;
    if (s && due(s.since)) {
      problems.push({
        problem: "status-write-failing",
        message: `writing agents' statuses to the status branch has failed ${s.count} time${s.count === 1 ? "" : "s"} in the last ${ago(now - s.since)} (retrying): ${s.last}`,
        since: new Date(s.since).toISOString(),
      });
    }
    if (this.behindSince !== null && due(this.behindSince) && this.seenTip) {
      const published = this.handledTip
        ? `what is published comes from ${short(this.handledTip)}`
        : "nothing is published yet";
      problems.push({
        problem: "publish-behind",
        message: `${this.branch()} has been at ${short(this.seenTip)} for ${ago(now - this.behindSince)} but ${published}; agents run the older config`,
        since: new Date(this.behindSince).toISOString(),
      });
    }
    return { status: problems.length > 0 ? "degraded" : "ok", problems };
  }

  private updateBehind(now: number): void {
    const behind = this.seenTip !== null && this.seenTip !== this.handledTip;
    if (!behind) this.behindSince = null;
    else this.behindSince ??= now;
  }
}

function fail(prev: Failing | null, message: string, now: number): Failing {
  return prev
    ? { since: prev.since, count: prev.count + 1, last: message }
    : { since: now, count: 1, last: message };
}

/** Problems that appeared and disappeared between two views (for `degraded` / `recovered` events). */
export function healthChanges(
  before: HealthView,
  after: HealthView,
): { appeared: HealthProblem[]; cleared: HealthProblem[] } {
  const names = (v: HealthView) => new Set(v.problems.map((p) => p.problem));
  const was = names(before);
  const is = names(after);
  return {
    appeared: after.problems.filter((p) => !was.has(p.problem)),
    cleared: before.problems.filter((p) => !is.has(p.problem)),
  };
}
