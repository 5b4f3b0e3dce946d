// The next generation of a valid commit, decided before anything is written: the commit placed
// (around lost nodes when failover is on), old copies kept while moves and drains finish
// (handoffs), the plan against what is served, and the snapshot and message that publishing it
// writes. reconciler.ts runs this, then says what happened and writes and publishes when the plan
// changes anything. No I/O (the evaluator keeps a warm cache between runs).
import type { Evaluator } from "../core/evaluate.js";
import type { HandoffNote } from "../core/handoff/index.js";
import { computePlan, type PlanInput, summaryLine } from "../core/plan/index.js";
import type { NodeStatus, Plan } from "../schema/index.js";
import { type FailoverStep, placeWithFailover } from "./failover-step.js";
import { generationSummary, overlayHandoffs } from "./handoff-step.js";
import type { LoadedInput } from "./source/config-input.js";
import { carryUnchanged, type DesiredSnapshot, publishMessage, tokensOf } from "./store/desired-layout.js";
import type { ServedState } from "./store/served.js";

export interface GenerationInput {
  /** The loaded, valid commit. */
  head: LoadedInput;
  /** The tracked branch, its tip, and the commit planned (the tip, or on a facts run the published source commit). */
  branch: string;
  tip: string;
  commit: string;
  /**
   * The run only re-reads facts (agents' reports, lost nodes) for the published source commit:
   * `head` is that commit, and the snapshot keeps its source.
   */
  factsRun: boolean;
  served: ServedState;
  /** Every node's last status report. */
  statuses: Iterable<readonly [string, NodeStatus | null]>;
  /** Lost nodes and since when (ms epoch). */
  lost: readonly { node: string; since: number }[];
  /** What is published now, for the plan (null before the first generation). */
  published: PlanInput | null;
  /** Places the commit again with failed-over nodes cordoned. */
  failoverEvaluator: Evaluator;
  now: number;
}

export interface Generation {
  failover: FailoverStep;
  plan: Plan;
  /** The plan's one-line summary. */
  summary: string;
  /** What the served handoffs wait for, as read now. */
  notes: HandoffNote[];
  /** What publishing writes: the next generation and its commit message. */
  snapshot: DesiredSnapshot;
  message: string;
}

export function nextGeneration(input: GenerationInput): Generation {
  const { head, served, factsRun, commit } = input;
  const failover = placeWithFailover(
    head.load,
    head.evaluation.desired,
    { branch: input.branch, commit },
    input.lost,
    input.now,
    input.failoverEvaluator,
  );
  const over = overlayHandoffs({
    target: failover.target,
    config: head.load.config,
    served,
    statuses: input.statuses,
    lost: new Set(input.lost.map((l) => l.node)),
  });
  const plan = computePlan(input.published, {
    ...head.input,
    desired: over.docs,
    failedOver: failover.failedOver.map((l) => l.node),
  });
  if (failover.entries.length > 0) plan.failover = failover.entries;
  if (over.notes.length > 0) plan.handoffs = over.notes;
  const summary = summaryLine(plan);
  const snapshot: DesiredSnapshot = {
    generation: served.generation + 1,
    source:
      factsRun && served.source
        ? { ...served.source }
        : { branch: input.branch, commit: input.tip, subject: head.subject },
    docs: carryUnchanged(served.docs, over.docs),
    tokens: tokensOf(head.load.config),
    plan,
    handoffs: over.handoffs,
    ...(failover.entries.length > 0 ? { failover: failover.entries } : {}),
  };
  const message = publishMessage(
    snapshot.source,
    snapshot.generation,
    generationSummary(served.failover, failover.entries, over.notes, summary),
  );
  return { failover, plan, summary, notes: over.notes, snapshot, message };
}
