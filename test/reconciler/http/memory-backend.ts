// An in-memory ApiBackend for the HTTP API's tests and benchmark: documents, token hashes and
// statuses live in maps; publish() bumps the generation and wakes long-pollers like the real
// reconciler does. A fake of OUR interface, not of anything that runs here.
import { createHash } from "node:crypto";
import type {
  ApiBackend,
  LivenessView,
  NodeEntryView,
  PublishedView,
  TriggerRequest,
} from "../../../reconciler/contracts.js";
import type { SeenTracker } from "../../../reconciler/http/context.js";
import type { DesiredState, NodeStatus, Plan } from "../../../schema/index.js";

interface Waiter {
  node: string;
  etag: string | undefined;
  wake: () => void;
}

export function makeDoc(node: string, seed: string, commit = "a".repeat(40)): DesiredState {
  const hash = `sha256:${createHash("sha256").update(`${node}:${seed}`).digest("hex")}`;
  return {
    apiVersion: "berth/v1",
    node,
    source: { branch: "main", commit },
    hash,
    workloads: [],
    routes: [],
  };
}

export function makeStatus(node: string, overrides: Partial<NodeStatus> = {}): NodeStatus {
  return {
    node,
    agentVersion: "0.1.0",
    desiredHash: null,
    appliedHash: null,
    appliedCommit: null,
    phase: "converged",
    workloads: [],
    ingress: null,
    ...overrides,
  };
}

export class MemoryBackend implements ApiBackend, SeenTracker {
  branch = "main";
  generation = 0;
  commit: string | null = null;
  readonly docs = new Map<string, DesiredState>();
  readonly tokens = new Map<string, string>();
  readonly statuses = new Map<string, NodeStatus>();
  readonly lastSeen = new Map<string, number>();
  readonly triggers: TriggerRequest[] = [];
  readonly reports: { node: string; status: NodeStatus }[] = [];
  readonly waiters = new Set<Waiter>();
  /** Liveness verdicts to show (none: this backend judges no liveness, like before issue 12). */
  readonly liveness = new Map<string, LivenessView>();
  abortedWaits = 0;
  /** Set by a test to play a reconciler that must look at the desired branch first. */
  catchUp?: (node: string, etag: string) => Promise<"serve" | "behind">;
  planImpl: (base: string | undefined, head: string | undefined) => Promise<Plan> = async () => {
    throw Object.assign(new Error("no plan in this test"), { statusCode: 400 });
  };

  /** Serves `docs` as the new generation (token hashes by node) and wakes waiters whose document changed. */
  publish(docs: DesiredState[], tokenHashes: Record<string, string> = {}, commit = "b".repeat(40)): void {
    this.generation++;
    this.commit = commit;
    for (const d of docs) this.docs.set(d.node, d);
    for (const [node, hash] of Object.entries(tokenHashes)) this.tokens.set(node, hash);
    for (const w of [...this.waiters]) {
      if (this.docs.get(w.node)?.hash !== w.etag) w.wake();
    }
  }

  trackedBranch(): string {
    return this.branch;
  }
  published(): PublishedView {
    return {
      generation: this.generation,
      commit: this.commit,
      desiredCommit: this.commit ? "c".repeat(40) : null,
    };
  }
  desired(node: string): DesiredState | undefined {
    return this.docs.get(node);
  }
  waitForChange(
    node: string,
    etag: string | undefined,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<void> {
    if (this.docs.get(node)?.hash !== etag) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        this.waiters.delete(waiter);
        resolve();
      };
      const onAbort = () => {
        this.abortedWaits++;
        done();
      };
      const waiter: Waiter = { node, etag, wake: done };
      const timer = setTimeout(done, timeoutMs);
      signal.addEventListener("abort", onAbort);
      this.waiters.add(waiter);
    });
  }
  tokenSha256(node: string): string | undefined {
    return this.tokens.get(node);
  }
  reportStatus(node: string, status: NodeStatus): void {
    this.statuses.set(node, status);
    this.reports.push({ node, status });
  }
  seen(node: string, at: number): void {
    this.lastSeen.set(node, at);
  }
  nodes(): NodeEntryView[] {
    return [...this.docs.keys()].map((node) => {
      const liveness = this.liveness.get(node);
      return {
        node,
        lastSeen: this.lastSeen.get(node) ?? null,
        status: this.statuses.get(node) ?? null,
        ...(liveness ? { liveness } : {}),
      };
    });
  }
  trigger(req: TriggerRequest): void {
    this.triggers.push(req);
  }
  plan(base: string | undefined, head: string | undefined): Promise<Plan> {
    return this.planImpl(base, head);
  }
}
