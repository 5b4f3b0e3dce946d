// The words of berth's commit statuses, from plan data. Pure. Forge clients cut them to the
// forge's length limit, so these may be long; the important part comes first.

import { oneLine } from "../../core/escape.js";
import { summaryLine } from "../../core/plan/index.js";
import type { Diagnostic, Plan } from "../../schema/index.js";

/** A diagnostic on one line (a file name or message cannot break it). */
export function diagnosticLine(d: Pick<Diagnostic, "file" | "line" | "col" | "message">): string {
  return `${oneLine(d.file)}:${d.line}:${d.col}: ${oneLine(d.message)}`;
}

/** "1 error: apps/web.yaml:7:13: replicas must be >= 0" / "3 errors: …". */
export function errorsLine(count: number, first: string | undefined): string {
  const n = `${count} ${count === 1 ? "error" : "errors"}`;
  return first ? `${n}: ${first}` : n;
}

/** Status of a pull request's plan: success with the summary line, or failure with the first error. */
export function planStatus(plan: Plan): { state: "success" | "failure"; description: string } {
  if (plan.valid) return { state: "success", description: summaryLine(plan) };
  const first = plan.errors[0];
  return {
    state: "failure",
    description: errorsLine(Math.max(plan.errors.length, 1), first && diagnosticLine(first)),
  };
}
