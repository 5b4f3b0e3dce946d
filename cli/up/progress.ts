// Terminal progress for `berth up`: one line per thing that happens (published, each agent step,
// converged or failed), then a summary with the URLs of the domains once the node converges.
import type { AgentEvent } from "../../agent/index.js";
import { oneLine } from "../../core/escape.js";
import type { BerthEvent } from "../../reconciler/contracts.js";
import type { DesiredState } from "../../schema/index.js";
import type { Style } from "../context.js";

type Paint = (style: Style, text: string) => string;

export function describeEvent(e: BerthEvent, paint: Paint): string | null {
  const d = e.data as Record<string, unknown>;
  const short = typeof d.commit === "string" ? d.commit.slice(0, 7) : "";
  switch (e.type) {
    case "detected":
      return `${paint("cyan", "commit")}    ${short} detected`;
    case "published":
      return `${paint("cyan", "published")} generation ${d.generation} from ${short}: ${oneLine(String(d.summary ?? ""))}`;
    case "unchanged":
      return `${paint("dim", "unchanged")} ${short}: no node's desired state changes`;
    case "rejected": {
      const diags = Array.isArray(d.diagnostics)
        ? (d.diagnostics as { file: string; line: number; col: number; message: string }[])
        : [];
      const lines = diags
        .slice(0, 10)
        .map((x) => `    ${oneLine(String(x.file))}:${x.line}:${x.col}: ${oneLine(String(x.message))}`);
      return [
        `${paint("red", "rejected")}  ${short} is invalid; the last good state keeps running:`,
        ...lines,
      ].join("\n");
    }
    case "reconciler-error":
      return `${paint("red", "error")}     ${oneLine(String(d.message ?? JSON.stringify(d)))}`;
    default:
      return null;
  }
}

export function describeAgentEvent(e: AgentEvent, paint: Paint): string | null {
  switch (e.type) {
    case "action-started":
      return `${paint("yellow", "applying")}  ${oneLine(e.reason)}${e.attempt > 1 ? ` (attempt ${e.attempt})` : ""}`;
    case "action-succeeded":
      return `${paint("green", "done")}      ${oneLine(e.reason)} (${e.ms} ms)`;
    case "action-failed":
      return `${paint("red", "failed")}    ${oneLine(e.reason)}: ${e.cause.where}: ${oneLine(e.cause.message)}${e.retryInMs > 0 ? `; retrying in ${Math.round(e.retryInMs / 1000)} s` : ""}`;
    case "action-superseded":
      return `${paint("yellow", "abandoned")} ${oneLine(e.reason)}: a newer commit no longer wants it`;
    case "document-rejected":
      return `${paint("red", "rejected")}  desired document: ${oneLine(e.message)}`;
    case "drift":
      return `${paint("yellow", "drift")}     ${oneLine(e.detail)}`;
    default:
      return null;
  }
}

/** Where each domain of the node's routes can be reached through this host's Caddy. */
export function urls(doc: DesiredState | undefined, httpListen: string, httpsListen: string): string[] {
  if (!doc) return [];
  const port = (listen: string) => listen.slice(listen.lastIndexOf(":") + 1);
  return doc.routes.map((r) => {
    const https = r.tls !== "off";
    const p = port(https ? httpsListen : httpListen);
    const std = https ? "443" : "80";
    return `${https ? "https" : "http"}://${r.host}${p === std ? "" : `:${p}`}${r.path}`;
  });
}
