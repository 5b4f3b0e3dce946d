// Renders GET /v1/alerts for a terminal: one block per open alert (status, rule, summary, since
// when, the cause and the link), then pending ones and the receivers' state. Control characters,
// line separators and bidi controls in user text (app names, causes from agents) are shown
// escaped, so nothing can forge a line, move the cursor or change colours. Pure.
import { oneLine } from "../core/escape.js";
import type { AlertsView, AlertView } from "../reconciler/alerts/service.js";

type Paint = (style: "red" | "yellow" | "green" | "dim" | "bold" | "cyan", text: string) => string;

/** User text on one terminal line: core/escape.ts oneLine, the one escaping every renderer uses. */
export const termSafe = oneLine;

function block(a: AlertView, paint: Paint): string[] {
  const status =
    a.status === "firing"
      ? paint("red", "FIRING   ")
      : a.status === "resolving"
        ? paint("yellow", "RESOLVING")
        : paint("dim", "PENDING  ");
  const lines = [
    `${status} ${paint("bold", termSafe(a.summary))}  ${paint("dim", `[${termSafe(a.rule)}] since ${a.firedAt ?? a.since}`)}`,
    `          ${termSafe(a.cause)}`,
  ];
  if (a.link) lines.push(`          ${paint("cyan", termSafe(a.link))}`);
  return lines;
}

export function renderAlerts(view: AlertsView, paint: Paint): string {
  if (!view.enabled) {
    return "alerting is off: berth.yaml has no alerts.receivers (see docs/alerts.md)\n";
  }
  const out: string[] = [];
  if (view.alerts.length === 0) out.push(paint("green", "no open alerts"));
  for (const a of view.alerts) out.push(...block(a, paint));
  if (view.pending.length > 0) {
    out.push("", paint("dim", `pending (condition holds, waiting for its window): ${view.pending.length}`));
    for (const a of view.pending) out.push(...block(a, paint));
  }
  const bad = view.receivers.filter((r) => !r.ok);
  out.push(
    "",
    paint(
      "dim",
      `receivers: ${view.receivers.map((r) => `${termSafe(r.name)} (${r.kind})`).join(", ")}; undelivered: ${view.undelivered}`,
    ),
  );
  for (const r of bad)
    out.push(paint("red", `receiver ${termSafe(r.name)} is unusable: ${termSafe(r.problem ?? "")}`));
  return `${out.join("\n")}\n`;
}
