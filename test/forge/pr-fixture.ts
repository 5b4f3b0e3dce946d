// Everything a pull-request planner test needs: a config repo served by the real git smart-HTTP
// server, a recording forge of the chosen kind, a forge client, a planner with a fresh bare cache,
// and helpers to push a pull request head where that forge keeps it and build its event.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ForgeClient } from "../../reconciler/forge/client.js";
import { createPrPlanner, type PrPlanner, type PrPlannerOptions } from "../../reconciler/pr/pr-planner.js";
import type { PullRequestEvent } from "../../reconciler/webhooks/parse.js";
import type { ForgeKind, RecordingForge } from "../helpers/recording-forge.js";
import { recordingForgeClient } from "./client-fixture.js";
import { type ForgeRepo, makeForgeRepo } from "./git-fixture.js";
import type { CapturedLog } from "./log-capture.js";

export const webUrl = "https://forge.example.com/acme/config";

/** A small valid config: one node that is worker and proxy, one app, one domain. */
export const baseFiles: Record<string, string> = {
  "berth.yaml": "kind: Settings\nbranch: main\n",
  "nodes/n1.yaml":
    "kind: Node\nname: n1\naddress: 10.0.0.1\nroles: [worker, proxy]\nruntime: podman\ncapacity:\n  cpu: 64\n  memory: 256Gi\n",
  "apps/web.yaml": "kind: App\nname: web\nimage: nginx:1.25\nport: 80\nreplicas: 1\n",
  "domains/www.example.com.yaml": "kind: Domain\nhost: www.example.com\napp: web\ntls: off\n",
};

export function app(name: string, image: string, extra = ""): string {
  return `kind: App\nname: ${name}\nimage: ${image}\nport: 8080\nreplicas: 1\n${extra}`;
}

export interface PrWorld {
  kind: ForgeKind;
  repo: ForgeRepo;
  forge: RecordingForge;
  client: ForgeClient;
  planner: PrPlanner;
  log: CapturedLog;
  events: { type: string; data: Record<string, unknown> }[];
  base: string;
  /** Commits `files` on top of `from` (default: the base commit) and pushes it as PR `n`'s head. */
  pushHead(n: number, files: Record<string, string | null>, message: string, from?: string): Promise<string>;
  event(n: number, headSha: string, action?: PullRequestEvent["action"]): PullRequestEvent;
  cleanup(): Promise<void>;
}

export async function makePrWorld(kind: ForgeKind, opts: Partial<PrPlannerOptions> = {}): Promise<PrWorld> {
  const repo = await makeForgeRepo();
  const { forge, client, log } = await recordingForgeClient(kind);
  const cacheDir = mkdtempSync(join(tmpdir(), "berth-pr-cache-"));
  const events: PrWorld["events"] = [];
  const planner = createPrPlanner({
    cacheDir,
    remoteUrl: repo.url,
    forge: client,
    trackedBranch: "main",
    webUrl,
    logger: log.logger,
    events: { emit: (type, data) => events.push({ type, data }) },
    retryDelaysMs: [200, 200],
    ...opts,
  });
  const base = await repo.commit(baseFiles, "base config");
  await repo.push("refs/heads/main");
  const pullRef = (n: number) =>
    kind === "gitlab" ? `refs/merge-requests/${n}/head` : `refs/pull/${n}/head`;
  return {
    kind,
    repo,
    forge,
    client,
    planner,
    log,
    events,
    base,
    async pushHead(n, files, message, from = base) {
      await repo.git("checkout", "-q", "--detach", from);
      const sha = await repo.commit(files, message);
      await repo.push(pullRef(n), sha);
      return sha;
    },
    event(n, headSha, action = "opened") {
      return {
        kind: "pull_request",
        forge: kind,
        deliveryId: null,
        action,
        forgeAction: action,
        number: n,
        headSha,
        headRef: `feature-${n}`,
        baseRef: "main",
        cloneUrl: repo.url,
        headCloneUrl: repo.url,
        repo: forge.repo,
      };
    },
    async cleanup() {
      planner.close();
      await client.close();
      await forge.close();
      await repo.cleanup();
      rmSync(cacheDir, { recursive: true, force: true });
    },
  };
}
