// Text view of a status summary: a node table (with liveness, and what is known about a node
// that is not alive), then an app table with the current operation.
import type { StatusSummary } from "../core/status/summary.js";
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
    if (r.rejected) {
      lines.push(
        paint(
          "red",
          `Rejected: ${r.rejected.commit.slice(0, 7)} is invalid (${r.rejected.errors} errors); the last good state keeps running:`,
        ),
      );
      for (const d of r.rejected.diagnostics.slice(0, 10))
        lines.push(paint("red", `  ${d.file}:${d.line}:${d.col}: ${d.message}`));
    }
    lines.push("");
  }
  if (s.livenessSource === "committed") {
    lines.push("Liveness as last committed by the reconciler (berth status --url URL for live):", "");
  }
  lines.push(
    ...table(
      ["NODE", "LIVENESS", "PHASE", "IN SYNC", "APPLIED", "LAST SEEN"],
      s.nodes.map((n) => [
        n.node,
        livenessText(n, paint, now),
        phaseText(n.phase, paint),
        n.inSync ? paint("green", "yes") : paint("yellow", "no"),
        n.appliedCommit ? n.appliedCommit.slice(0, 7) : "-",
        n.lastSeen === null ? "-" : ago(now - n.lastSeen),
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
          `  ${n.livenessMessage ?? `${n.node} is ${n.liveness}`}${last}${applied}`,
        ),
      );
    }
    for (const p of n.problems) lines.push(paint("red", `  ${n.node}: ${p}`));
  }
  lines.push("");
  lines.push(
    ...table(
      ["APP", "HEALTHY", "OPERATION"],
      s.apps.map((a) => {
        const op = a.workloads.find((w) => w.operation && w.operation.status !== "succeeded")?.operation;
        const opText = op
          ? `${op.status}: ${op.step} (attempt ${op.attempt}${op.retryable ? ", will retry" : ""})${
              op.lastError ? ` — ${op.lastError}` : ""
            }`
          : "-";
        const healthy = `${a.healthy}/${a.desired}${a.unknown > 0 ? ` (${a.unknown} unknown: node not alive)` : ""}`;
        return [a.app, a.healthy === a.desired ? paint("green", healthy) : paint("yellow", healthy), opText];
      }),
    ),
  );
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

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  return `${Math.round(s / 3600)}h ago`;
}

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
