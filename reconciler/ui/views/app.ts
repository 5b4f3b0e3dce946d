// One app's page: its row (sync and health), its instances per node, its operation history, the
// plan entries of recent generations that changed it, and where its logs are.

import { formatFieldChange, symbols } from "../../../core/views/format.js";
import type { AppChange, AppPageModel, InstanceRow, OperationRecord } from "../../../core/views/ops/index.js";
import { type Html, html, seg } from "../html.js";
import { ago, badge, shortSha, type Tone } from "./layout.js";
import { appRowHtml } from "./overview.js";

const stateTone = (s: string): Tone =>
  s === "running" ? "ok" : s === "starting" ? "warn" : s === "unknown" ? "unk" : "bad";
const healthTone = (h: InstanceRow["health"]): Tone =>
  h === "healthy" ? "ok" : h === "unhealthy" ? "bad" : "unk";

const exitWords = (e: NonNullable<InstanceRow["lastExit"]>): string =>
  e.signal ? `killed by ${e.signal}` : e.code === null ? "exited" : `exited with code ${e.code}`;

/** One instance; `lead` is the column before the id: its node (app page) or its app (node page). */
export function instanceRow(i: InstanceRow, now: number, lead: "node" | "app" = "node"): Html {
  const exit = i.lastExit;
  return html`<tr>
${lead === "node" ? html`<td class="mono"><a href="/nodes/${seg(i.node)}">${i.node}</a></td>` : html`<td><a href="/apps/${seg(i.app)}">${i.app}</a></td>`}
<th scope="row" class="mono">${i.id}</th>
<td>${i.slot ?? html`<span class="muted">—</span>`}</td>
<td>${i.port ?? html`<span class="muted">—</span>`}</td>
<td>${badge(i.state, stateTone(i.state))}</td>
<td>${badge(i.health, healthTone(i.health))}</td>
<td>${i.current === null ? badge("unknown", "unk") : i.current ? badge("desired", "ok") : badge("other version", "warn")}</td>
<td>${i.restarts ?? html`<span class="muted">unknown</span>`}</td>
<td>${i.since ? ago(i.since, now) : html`<span class="muted">unknown</span>`}</td>
<td class="err">${i.problem ?? (exit ? html`<span class="muted">last exit: ${exitWords(exit)}${exit.at ? html` ${ago(exit.at, now)}` : ""}</span>` : html`<span class="muted">—</span>`)}${exit?.output?.length ? html`<details><summary>last output</summary><pre class="plan">${exit.output.join("\n")}</pre></details>` : ""}</td>
</tr>`;
}

function operationRow(o: OperationRecord, now: number): Html {
  return html`<tr>
<td>${ago(o.at, now)}</td>
<td class="mono">${o.node}/${o.instance}</td>
<td>${badge(o.status, o.status === "succeeded" ? "ok" : o.status === "running" ? "warn" : "bad")}</td>
<td>${o.step}</td>
<td>${o.attempt}</td>
<td class="err">${o.error ?? ""}</td>
</tr>`;
}

function changeBlock(c: AppChange, now: number): Html {
  const lines: string[] = [];
  if (c.resource) {
    lines.push(`${symbols[c.resource.action].padStart(3)} app ${c.resource.name}`);
    for (const f of c.resource.changes) lines.push(`      ${formatFieldChange(f)}`);
  }
  for (const d of c.domains) lines.push(`${symbols[d.action].padStart(3)} domain ${d.name}`);
  for (const w of c.workloads)
    lines.push(
      `${symbols[w.change.action].padStart(3)} workload ${w.change.id} on ${w.node}  ${w.change.reason}`,
    );
  return html`<li><a href="/history/${c.generation}">#${c.generation}</a> ${ago(c.at, now)} — <code>${shortSha(c.commit)}</code> ${c.subject ?? ""}
<pre class="plan">${lines.join("\n")}</pre></li>`;
}

/** The part of the page the live script replaces. */
export function appMain(m: AppPageModel, now: number, logs: { available: boolean }): Html {
  return html`<div id="app-main" data-nodes="${m.row.nodes.join(" ")}">
<table id="app-summary" aria-label="Summary">
<thead><tr><th scope="col">App</th><th scope="col">Sync</th><th scope="col">Health</th><th scope="col">Desired commit → serving, per node</th><th scope="col">Last deploy</th><th scope="col">Failing operation / last error</th></tr></thead>
<tbody>${appRowHtml(m.row, now)}</tbody>
</table>
<h2 id="inst-title">Instances</h2>
<table aria-labelledby="inst-title">
<thead><tr><th scope="col">Node</th><th scope="col">Instance</th><th scope="col">Slot</th><th scope="col">Port</th><th scope="col">State</th><th scope="col">Health</th><th scope="col">Version</th><th scope="col">Restarts</th><th scope="col">Since</th><th scope="col">Problem</th></tr></thead>
<tbody id="instances">${m.instances.map((i) => instanceRow(i, now))}</tbody>
</table>
${m.instances.length === 0 ? html`<p class="muted">No node is meant to run this app now.</p>` : ""}
<h2 id="ops-title">Operation history</h2>
${
  m.operations.length === 0
    ? html`<p class="muted" id="operations">No operation seen since this reconciler started (the agents report the current operation; this list keeps what changed, in memory).</p>`
    : html`<table aria-labelledby="ops-title"><thead><tr><th scope="col">Seen</th><th scope="col">Instance</th><th scope="col">Status</th><th scope="col">Step</th><th scope="col">Attempt</th><th scope="col">Error</th></tr></thead>
<tbody id="operations">${m.operations.slice(0, 100).map((o) => operationRow(o, now))}</tbody></table>`
}
<h2>Plan entries that changed it</h2>
${m.changes.length === 0 ? html`<p class="muted">No recent generation changed this app.</p>` : html`<ul class="versions">${m.changes.map((c) => changeBlock(c, now))}</ul>`}
<h2 id="logs-title">Logs</h2>
${
  logs.available
    ? html`<section id="logs" aria-labelledby="logs-title" data-logs="/v1/apps/${seg(m.app)}/logs"><p class="muted">The output of every instance on every node, newest last (the last 200 lines, then new ones as they come). On the command line: <code>berth logs ${m.app} -f</code>.</p><pre class="plan logs" id="log-lines" aria-live="off">waiting for log lines…</pre></section>`
    : html`<p id="logs" class="muted">Live logs of this app will appear here once this reconciler can stream them (<code>GET /v1/apps/${m.app}/logs</code>, from <code>berth logs ${m.app}</code>). Until then, read them on the node (see docs/operating.md).</p>`
}
</div>`;
}

export function appBody(m: AppPageModel, now: number, logs: { available: boolean }): Html {
  return html`<p><a href="/">← Overview</a></p>
<h1>App <span class="mono">${m.app}</span></h1>
${appMain(m, now, logs)}`;
}
