// Everything berth does with a forge, wired in one call for `berth serve`: the forge client from
// berth.yaml's `forge:` and the token file, commit statuses of the tracked branch (berth/plan,
// berth/deploy) as reconciler hooks, and pull-request plans as the API server's onPullRequest.
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { Logger } from "pino";
import type { Diagnostic, NodeStatus } from "../../schema/index.js";
import type { EventSink } from "../contracts.js";
import { createForgeClient, type ForgeClient, type ForgeKind, webUrlFor } from "../forge/client.js";
import type { PullRequestEvent } from "../webhooks/parse.js";
import { createCommitStatusReporter } from "./commit-status.js";
import { createDeployTracker } from "./deploy-tracker.js";
import { createPrPlanner } from "./pr-planner.js";
import { diagnosticLine } from "./status-text.js";

/** The reconciler's outcome hooks this module fills (same shape as ReconcilerHooks). */
export interface OutcomeHooks {
  planning?(commit: string): void;
  published?(commit: string, summary: string, affected: ReadonlyMap<string, string>): void;
  rejected?(commit: string, diagnostics: Diagnostic[]): void;
  nodeStatus?(node: string, status: NodeStatus): void;
}

export interface ForgeIntegrationOptions {
  /** berth.yaml `forge:`. */
  forge: { kind: ForgeKind; apiUrl?: string; repo: string; webUrl?: string };
  /** Contents of --forge-token-file. */
  token: string;
  trackedBranch: string;
  /**
   * Clone URL the planner fetches pull requests from (berth serve --remote). Without it, pull
   * requests are fetched from the clone URL their webhook names.
   */
  remoteUrl?: string;
  /** Token for the git remote (--remote-token-file); default: the forge token. */
  remoteToken?: string;
  /** Bare cache for pull-request heads; separate from the reconciler's own cache. */
  prCacheDir: string;
  logger: Logger;
  events?: EventSink;
  /** Deadline of a deploy before berth/deploy fails naming silent nodes (default 15 min). */
  deployTimeoutMs?: number;
}

export interface ForgeIntegration {
  client: ForgeClient;
  /** Settles once the pull-request cache is warm (or warming failed); planning works before too. */
  ready(): Promise<void>;
  /** Fills planning/published/rejected/nodeStatus of the given hooks object. */
  attach(hooks: OutcomeHooks): void;
  /** For startApiServer({ onPullRequest }). */
  onPullRequest(e: PullRequestEvent): void;
  /** Settles when no status or pull request is in flight (tests, shutdown). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export function createForgeIntegration(opts: ForgeIntegrationOptions): ForgeIntegration {
  const logger = opts.logger.child({ component: "forge" });
  const client = createForgeClient({
    kind: opts.forge.kind,
    apiUrl: opts.forge.apiUrl,
    repo: opts.forge.repo,
    token: opts.token,
    logger,
  });
  const reporter = createCommitStatusReporter(client, logger, { events: opts.events });
  const tracker = createDeployTracker(reporter, logger, { timeoutMs: opts.deployTimeoutMs });
  const webUrl = webUrlFor(opts.forge);
  const planners = new Map<string, ReturnType<typeof createPrPlanner>>();

  function plannerFor(remoteUrl: string) {
    let p = planners.get(remoteUrl);
    if (!p) {
      // One bare cache per remote: a cache's origin URL is fixed.
      const id = createHash("sha256").update(remoteUrl).digest("hex").slice(0, 12);
      p = createPrPlanner({
        cacheDir: join(opts.prCacheDir, id),
        remoteUrl,
        remoteToken: opts.remoteToken ?? opts.token,
        forge: client,
        trackedBranch: opts.trackedBranch,
        webUrl,
        logger,
        events: opts.events,
      });
      planners.set(remoteUrl, p);
    }
    return p;
  }

  // With a known remote, warm the cache now: the first pull request then plans as fast as later ones.
  const warming = opts.remoteUrl ? plannerFor(opts.remoteUrl).prepare() : Promise.resolve();

  return {
    client,
    ready: () => warming,
    attach(hooks) {
      hooks.planning = (sha) => reporter.planning(sha);
      hooks.published = (sha, summary, affected) => {
        reporter.published(sha, summary);
        tracker.published(sha, affected);
      };
      hooks.rejected = (sha, diagnostics) => {
        const first = diagnostics[0];
        reporter.rejected(sha, diagnostics.length, first ? diagnosticLine(first) : "");
      };
      hooks.nodeStatus = (node, status) => tracker.nodeStatus(node, status);
    },
    onPullRequest(e) {
      const url = opts.remoteUrl ?? e.cloneUrl;
      if (!url || !/^https?:\/\//.test(url)) {
        logger.warn(
          { pr: e.number },
          "pull request without an http(s) clone URL: start berth serve with --remote",
        );
        return;
      }
      plannerFor(url).handle(e);
    },
    async idle() {
      await Promise.all([reporter.idle(), ...[...planners.values()].map((p) => p.idle())]);
    },
    async close() {
      await Promise.race([warming, new Promise((r) => setTimeout(r, 5000).unref())]);
      tracker.close();
      for (const p of planners.values()) p.close();
      // Statuses still being sent get a moment; a rate-limited one is not waited for.
      await Promise.race([reporter.idle(), new Promise((r) => setTimeout(r, 5000).unref())]);
      await client.close();
    },
  };
}
