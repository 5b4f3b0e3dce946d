// Text view of a status summary: a node table (with liveness, what is known about a node that is
// not alive, and the drift its agent repaired), then an app table — what is desired, how much of it is healthy, what serves
// (the desired version or a previous one) and the current operation — and under it, for each
// failing app, the failing step, its cause and the instance's last output. Everything that came
// from a node is stripped of terminal escapes before it is printed, and what came from a repo or
// an agent (file names, messages) has its control, line-separator and bidi characters shown
// escaped (core/escape.ts), so it cannot forge lines on the operator's terminal.
import { sanitiseLine } from "../agent/core/log-line.js";
import { oneLine } from "../core/escape.js";
import type { AppSummary, FailingSummary, StatusSummary } from "../core/status/summary.js";
import type { Style } from "./context.js";

type Paint = (style: Style, text: string) => string;

export function renderStatus(s: StatusSummary, paint: Paint, now: number): string {
  const lines: string[] = [];
  const r = s.reconciler;
  if (r) {
    lines.push(
      r.commit
        ? `Published: generation ${r.generation} from ${r.commit.slice(0, 7)}`
        : "Published: nothing yet",
    );
    for (const p of r.health?.problems ?? []) lines.push(paint("red", `Degraded: ${oneLine(p.message)}`));
    if (r.ahead) {
      const after =
        r.ahead.commits === null
          ? ""
          : ` (${r.ahead.commits} commit${r.ahead.commits === 1 ? "" : "s"} after it)`;
      lines.push(
        paint(
          "yellow",
          `Not published: ${r.ahead.branch} is at ${r.ahead.tip.slice(0, 7)}${after}; it is invalid (berth validate --ref ${r.ahead.branch}), not seen yet, or the reconciler is stuck (berth status --url URL, GET /healthz)`,
        ),
      );
    }
    if (r.rejected) {
      lines.push(
        paint(
          "red",
          `Rejected: ${r.rejected.commit.slice(0, 7)} is invalid (${r.rejected.errors} errors); the last good state keeps running:`,
        ),
      );
      for (const d of r.rejected.diagnostics.slice(0, 10))
        lines.push(paint("red", `  ${oneLine(d.file)}:${d.line}:${d.col}: ${oneLine(d.message)}`));
    }
    for (const f of r.failover ?? []) lines.push(paint("yellow", f.message));
    if (r.failoverBlocked) lines.push(paint("red", r.failoverBlocked));
    if (r.handoffs?.length) {
      lines.push(paint("yellow", `Handoffs under way (${r.handoffs.length}):`));
      for (const h of r.handoffs) lines.push(paint("yellow", `  ${h.message}`));
    }
    lines.push("");
  }
  if (s.livenessSource === "committed") {
    lines.push("Liveness as last committed by the reconciler (berth status --url URL for live):", "");
  }
  lines.push(
    ...table(
      ["NODE", "LIVENESS", "PHASE", "IN SYNC", "APPLIED", "LAST SEEN", "DRIFT REPAIRED"],
      s.nodes.map((n) => [
        n.node,
        livenessText(n, paint, now),
        phaseText(n.phase, paint),
        n.inSync ? paint("green", "yes") : paint("yellow", "no"),
        n.appliedCommit ? n.appliedCommit.slice(0, 7) : "-",
        n.lastSeen === null ? "-" : ago(now - n.lastSeen),
        n.drift === null ? "?" : String(n.drift.repaired),
      ]),
    ),
  );
  for (const n of s.nodes) {
    if (n.liveness === "stale" || n.liveness === "lost") {
      const last = n.reportedPhase ? `; last report: ${n.reportedPhase}` : "; no report";
      const applied = n.appliedCommit ? `, applied ${n.appliedCommit.slice(0, 7)}` : "";
      lines.push(
        paint(
          n.liveness === "lost" ? "red" : "yellow",
          `  ${oneLine(n.livenessMessage ?? `${n.node} is ${n.liveness}`)}${last}${applied}`,
        ),
      );
    }
    for (const p of n.problems) lines.push(paint("red", `  ${oneLine(n.node)}: ${oneLine(p)}`));
    const d = n.drift;
    if (d && d.repaired > 0 && d.last) {
      const at = d.lastAt ? `, last ${ago(now - Date.parse(d.lastAt))}` : "";
      lines.push(paint("dim", `  ${oneLine(n.node)}: drift repaired ${d.repaired}${at}: ${safe(d.last)}`));
    }
  }
  lines.push("");
  lines.push(
    ...table(
      ["APP", "HEALTHY", "DESIRED", "SERVING", "OPERATION"],
      s.apps.map((a) => {
        const healthy = `${a.healthy}/${a.desired}${a.unknown > 0 ? ` (${a.unknown} unknown: node not alive)` : ""}`;
        return [
          a.app,
          a.healthy === a.desired ? paint("green", healthy) : paint("yellow", healthy),
          `${a.desired} @ ${short(a.desiredCommit)}`,
          servingText(a, paint),
          operationText(a, now, paint),
        ];
      }),
    ),
  );
  for (const a of s.apps) if (a.failing) lines.push(...failingLines(a, a.failing, now, paint));
  if (s.restarts?.length) {
    lines.push("");
    lines.push(
      ...table(
        ["RESTART", "APP", "NODE", "STATE", "DONE", ""],
        s.restarts.map((r) => [
          r.id,
          r.app,
          r.node,
          r.state === "succeeded"
            ? paint("green", r.state)
            : r.state === "running"
              ? paint("yellow", r.state)
              : paint("red", r.state),
          `${r.done}/${r.total}`,
          `${ago(now - Date.parse(r.at))}: ${r.message}`,
        ]),
      ),
    );
  }
  if (s.nodes.length === 0 && s.apps.length === 0) return "No nodes or apps published yet.\n";
  return `${lines.join("\n")}\n`;
}

/** Text from a node, safe to print: no escapes or control characters, one line. */
const safe = (t: string): string => oneLine(sanitiseLine(t.replace(/\n/g, " "), { maxBytes: 2_000 }));

const short = (commit: string | null): string => (commit ? commit.slice(0, 7) : "?");

/** What answers: "desired" when only the desired version does, else each version and its healthy count. */
function servingText(a: AppSummary, paint: Paint): string {
  if (a.serving.length === 0) return a.desired > 0 ? paint("red", "nothing") : "-";
  if (a.serving.every((v) => v.version === "desired")) {
    const n = a.serving.reduce((x, v) => x + v.healthy, 0);
    return `desired (${n} healthy)`;
  }
  return a.serving
    .map((v) => {
      const text = `${v.version} @ ${short(v.commit)}: ${v.healthy} healthy`;
      return v.version === "previous" ? paint("yellow", text) : text;
    })
    .join(", ");
}

function retryText(at: string | null, now: number): string {
  if (!at) return "";
  const ms = Date.parse(at) - now;
  return ms > 0 ? `, next retry in ${duration(ms)}` : ", retrying now";
}

function operationText(a: AppSummary, now: number, paint: Paint): string {
  const f = a.failing;
  if (f) {
    return paint(
      "red",
      `${f.state}: ${safe(f.step)} (attempt ${f.attempt}${retryText(f.nextAttemptAt, now)})`,
    );
  }
  const op = a.workloads.find((w) => w.operation && w.operation.status !== "succeeded")?.operation;
  if (!op) return "-";
  return `${op.status}: ${safe(op.step)} (attempt ${op.attempt})`;
}

/** The detail block of a failing app: where and why, and what the instance printed last. */
function failingLines(a: AppSummary, f: FailingSummary, now: number, paint: Paint): string[] {
  const out: string[] = [""];
  const previous = a.serving.filter((v) => v.version === "previous");
  const keeps =
    previous.length > 0
      ? `; the previous version keeps serving (${previous.map((v) => `${v.healthy} healthy @ ${short(v.commit)}`).join(", ")})`
      : a.serving.length === 0
        ? "; nothing of it serves"
        : "";
  out.push(
    paint(
      "red",
      `${a.app}: ${f.workload} on ${f.node} is ${f.state}${f.restarts > 0 ? `, ${f.restarts} restarts` : ""}${keeps}`,
    ),
  );
  out.push(`  step:  ${safe(f.step)} (attempt ${f.attempt}${retryText(f.nextAttemptAt, now)})`);
  if (f.cause) out.push(`  cause: ${f.cause.where}: ${safe(f.cause.message)}`);
  const output = f.lastExit && f.lastExit.output.length > 0 ? f.lastExit.output : (f.cause?.output ?? []);
  if (f.lastExit) {
    const how = f.lastExit.signal ? `killed by ${f.lastExit.signal}` : `code ${f.lastExit.code ?? "unknown"}`;
    out.push(`  last exit: ${how} at ${f.lastExit.at}`);
  }
  if (output.length > 0) {
    out.push("  last output:");
    for (const l of output) out.push(paint("dim", `    | ${safe(l)}`));
  }
  return out;
}

function livenessText(n: StatusSummary["nodes"][number], paint: Paint, now: number): string {
  if (n.liveness === "unknown") return "-";
  if (n.liveness === "alive") return paint("green", "alive");
  const since = n.livenessSince === null ? "" : ` ${ago(now - n.livenessSince).replace(" ago", "")}`;
  return paint(n.liveness === "lost" ? "red" : "yellow", `${n.liveness}${since}`);
}

function phaseText(phase: string, paint: Paint): string {
  if (phase === "converged") return paint("green", phase);
  if (phase === "failed") return paint("red", phase);
  return paint("yellow", phase);
}

function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.round(s / 60)}m`;
  return `${Math.round(s / 3600)}h`;
}

const ago = (ms: number): string => `${duration(ms)} ago`;

// Pads columns by their visible width (colour escapes do not count).
function table(head: string[], rows: string[][]): string[] {
  const visible = (t: string) => t.replace(/\x1b\[[0-9;]*m/g, "").length;
  const widths = head.map((h, i) => Math.max(visible(h), ...rows.map((r) => visible(r[i] ?? ""))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + " ".repeat(widths[i]! - visible(c))))
      .join("  ")
      .trimEnd();
  return [line(head), ...rows.map(line)];
}
