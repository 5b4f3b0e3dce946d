// Pull-request plans: for every opened / synchronized / reopened pull request to the tracked
// branch, fetch base and head into the bare cache, compute the plan base tip → head, keep ONE
// comment per pull request up to date with it, and set the "berth/plan" status on the head.
//
// Work is queued per pull request and runs concurrently across pull requests (bounded). Only the
// newest head of a pull request counts: a push that arrives while an older head is being planned
// makes the older result stale, and a stale result is dropped, never posted (so an older plan can
// never overwrite a newer one). Forge or git failures are retried later with back-off.
import type { Logger } from "pino";
import type { EventSink } from "../contracts.js";
import { ForgeApiError, type ForgeClient } from "../forge/client.js";
import type { PullRequestEvent } from "../webhooks/parse.js";
import { PLAN_CONTEXT } from "./commit-status.js";
import { type HeadCache, openHeadCache } from "./head-cache.js";
import { createLatestQueue, type JobContext } from "./latest-queue.js";
import { commentLink } from "./links.js";
import { createPullPlanEngine, type PullPlanEngine } from "./plan-pull.js";
import { planStatus } from "./status-text.js";

export type { PullRequestEvent } from "../webhooks/parse.js";

export interface PrPlannerOptions {
  /** Bare repository used as the planner's git cache (created when missing). */
  cacheDir: string;
  /** Clone URL of the config repo (where the base branch and refs/pull/N/head live). */
  remoteUrl: string;
  /** Token for the git remote (sent only to the remote's own host). */
  remoteToken?: string;
  forge: ForgeClient;
  /** Only pull requests into this branch are planned. */
  trackedBranch: string;
  /** Web address of the repo, for file:line links (see webUrlFor in forge/client.ts). */
  webUrl?: string;
  logger: Logger;
  events?: EventSink;
  /** Pull requests planned at the same time (default 2). */
  concurrency?: number;
  /** Longest comment (default 60,000 characters). */
  maxCommentLength?: number;
  /** Back-off before planning a failed pull request again, per try (default 10 s, 60 s, 5 min). */
  retryDelaysMs?: number[];
}

export interface PrPlanner {
  handle(e: PullRequestEvent): void;
  /**
   * Fetches the tracked branch and evaluates its tip in the background, so the first pull request
   * after start does not pay for a cold cache. Never rejects (failures are logged).
   */
  prepare(): Promise<void>;
  /** Settles when no pull request is being planned, waiting, or scheduled for a retry. */
  idle(): Promise<void>;
  close(): void;
}

const planned = new Set(["opened", "synchronize", "reopened"]);

export function createPrPlanner(opts: PrPlannerOptions): PrPlanner {
  const { forge, events } = opts;
  const logger = opts.logger.child({ component: "pr-planner" });
  const retryDelays = opts.retryDelaysMs ?? [10_000, 60_000, 300_000];
  const latestSha = new Map<number, string>();
  const failures = new Map<string, number>(); // "<pr>@<sha>" -> failed tries
  let setup: Promise<{ cache: HeadCache; engine: PullPlanEngine }> | undefined;

  const open = () => {
    setup ??= openHeadCache({
      dir: opts.cacheDir,
      remoteUrl: opts.remoteUrl,
      remoteToken: opts.remoteToken,
      kind: forge.kind,
    }).then((cache) => ({
      cache,
      engine: createPullPlanEngine({
        gitdir: cache.gitdir,
        kind: forge.kind,
        webUrl: opts.webUrl,
        maxLength: opts.maxCommentLength,
      }),
    }));
    // A failed setup (unwritable cache dir) is tried again with the next event.
    setup.catch(() => {
      setup = undefined;
    });
    return setup;
  };

  /** Sets a status, logging instead of failing: a status is worth less than the comment. */
  async function status(
    sha: string,
    state: "pending" | "success" | "failure" | "error",
    description: string,
    targetUrl?: string,
  ) {
    try {
      await forge.setCommitStatus(sha, { context: PLAN_CONTEXT, state, description, targetUrl });
    } catch (e) {
      logger.warn(
        { sha, state, err: (e as Error).message },
        "could not set the pull request's commit status",
      );
      if (e instanceof ForgeApiError && e.transient) throw e; // retried with the whole job
    }
  }

  async function dropStale(e: PullRequestEvent): Promise<void> {
    const newer = latestSha.get(e.number);
    logger.info(
      { pr: e.number, sha: e.headSha, newer },
      "pull request moved on while planning; dropping the stale plan",
    );
    if (newer && newer !== e.headSha) {
      await status(e.headSha, "error", `superseded by ${newer.slice(0, 7)}; not planned`).catch(
        () => undefined,
      );
    }
  }

  async function run(pr: number, e: PullRequestEvent, ctx: JobContext): Promise<void> {
    const started = performance.now();
    const phases = { fetchMs: 0, planMs: 0, postMs: 0 };
    const lap = (() => {
      let last = started;
      return (k: keyof typeof phases) => {
        const now = performance.now();
        phases[k] = Math.round(now - last);
        last = now;
      };
    })();
    const log = { pr, sha: e.headSha, forge: e.forge };
    const { cache, engine } = await open();
    await status(e.headSha, "pending", "planning");
    const baseSha = await cache.fetchBranch(e.baseRef);
    const how = await cache.fetchPullHead({
      kind: forge.kind,
      number: pr,
      sha: e.headSha,
      baseRef: e.baseRef,
      headRef: e.headRef,
      headCloneUrl: e.headCloneUrl,
    });
    lap("fetchMs");
    if (!ctx.isCurrent()) return dropStale(e);
    if (how === "missing") {
      logger.warn(
        log,
        "the pull request's head commit is not on the remote (it moved on); waiting for the next event",
      );
      await status(e.headSha, "error", "head commit not found on the remote; push again to plan");
      return;
    }
    const result = await engine.plan({
      number: pr,
      baseRef: e.baseRef,
      baseSha,
      headSha: e.headSha,
      headRef: e.headRef,
    });
    lap("planMs");
    // The last check before posting: nothing below awaits between it and the upsert's request.
    if (!ctx.isCurrent()) return dropStale(e);
    const comment = await forge.upsertPlanComment(pr, result.markdown);
    const s = planStatus(result.plan);
    const targetUrl =
      comment.url ?? (opts.webUrl ? commentLink(forge.kind, opts.webUrl, pr, comment.id) : undefined);
    await status(e.headSha, s.state, s.description, targetUrl);
    lap("postMs");
    failures.delete(`${pr}@${e.headSha}`);
    const ms = Math.round(performance.now() - started);
    logger.info(
      {
        ...log,
        fetched: how,
        valid: result.plan.valid,
        comment: comment.id,
        created: comment.created,
        ms,
        ...phases,
      },
      s.description,
    );
    events?.emit("pull-request", {
      forge: forge.kind,
      number: pr,
      headSha: e.headSha,
      valid: result.plan.valid,
      summary: result.plan.summary,
      description: s.description,
      commentId: comment.id,
      created: comment.created,
      ms,
      ...phases,
    });
  }

  function onError(pr: number, e: PullRequestEvent, err: unknown): void {
    const key = `${pr}@${e.headSha}`;
    const tries = (failures.get(key) ?? 0) + 1;
    failures.set(key, tries);
    const message = (err as Error).message;
    logger.error({ pr, sha: e.headSha, tries, err: message }, "planning the pull request failed");
    events?.emit("reconciler-error", { where: "pull-request", number: pr, headSha: e.headSha, message });
    const delay = retryDelays[tries - 1];
    if (latestSha.get(pr) !== e.headSha) {
      failures.delete(key);
      void dropStale(e);
      return;
    }
    if (delay === undefined) {
      failures.delete(key);
      // Give up on this head until the next push: say so on the commit, if the forge lets us.
      void status(e.headSha, "error", `berth could not plan this commit: ${message}`).catch(() => undefined);
      return;
    }
    const wait =
      err instanceof ForgeApiError && err.retryAfterMs !== undefined
        ? Math.max(err.retryAfterMs, delay)
        : delay;
    queue.retryLater(pr, e, wait);
  }

  const queue = createLatestQueue<number, PullRequestEvent>({
    concurrency: opts.concurrency ?? 2,
    run,
    onError,
  });

  return {
    handle(e) {
      const log = { pr: e.number, action: e.action, forge: e.forge, sha: e.headSha };
      if (e.forge !== forge.kind) {
        logger.warn(log, `pull request from ${e.forge} ignored: this reconciler's forge is ${forge.kind}`);
        return;
      }
      if (e.action === "closed") {
        latestSha.delete(e.number);
        queue.drop(e.number);
        return;
      }
      if (!planned.has(e.action)) {
        logger.debug(log, "pull request event needs no plan");
        return;
      }
      if (e.baseRef !== opts.trackedBranch) {
        logger.info(log, `pull request into ${e.baseRef} ignored: berth tracks ${opts.trackedBranch}`);
        return;
      }
      if (!/^[0-9a-f]{40}$/.test(e.headSha)) {
        logger.warn(log, "pull request event without a full head commit id ignored");
        return;
      }
      latestSha.set(e.number, e.headSha);
      queue.push(e.number, e);
    },
    async prepare() {
      try {
        const started = performance.now();
        const { cache, engine } = await open();
        const sha = await cache.fetchBranch(opts.trackedBranch);
        await engine.warmBase(opts.trackedBranch, sha);
        logger.info(
          { branch: opts.trackedBranch, sha, ms: Math.round(performance.now() - started) },
          "pull-request cache warm",
        );
      } catch (e) {
        logger.warn(
          { err: (e as Error).message },
          "could not warm the pull-request cache; the first plan will",
        );
      }
    },
    idle: () => queue.idle(),
    close: () => queue.close(),
  };
}
