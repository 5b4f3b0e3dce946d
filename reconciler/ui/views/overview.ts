// The overview as HTML: what needs attention first. The reconciler's own state (tracked commit,
// rejection, health), then the apps table (sync and health as two separate badges, desired vs
// serving per node, last deploy, the cause), then the nodes table. Each row and block has an id
// so the live script can replace it with a fragment from the server.
import type { AppRow, NodeRow, OverviewModel, TipRow } from "../../../core/views/ops/index.js";
import { sortKey } from "../../../core/views/ops/index.js";
import { type Html, html, seg } from "../html.js";
import { ago, badge, shortSha, type Tone } from "./layout.js";

const syncTone: Record<AppRow["sync"], Tone> = {
  converged: "ok",
  converging: "warn",
  failing: "bad",
  unknown: "unk",
};
const healthTone: Record<AppRow["health"], Tone> = {
  healthy: "ok",
  unhealthy: "bad",
  unknown: "unk",
  none: "unk",
};
const livenessTone: Record<NodeRow["liveness"], Tone> = {
  alive: "ok",
  stale: "warn",
  lost: "bad",
  unknown: "unk",
};
const resultTone = { succeeded: "ok", failed: "bad", "in progress": "warn", unknown: "unk" } as const;

const MAX_NODES_SHOWN = 4;

function versions(row: AppRow): Html {
  const shown = row.versions.slice(0, MAX_NODES_SHOWN);
  const more = row.versions.length - shown.length;
  return html`<ul class="versions">${shown.map(
    (v) =>
      html`<li><span class="mono">${v.node}</span>: <code>${shortSha(v.desiredCommit)}</code> ${
        v.servingCommit === v.desiredCommit
          ? html`<span class="muted">serving</span>`
          : v.servingCommit
            ? html`<span class="b warn">serving <code>${shortSha(v.servingCommit)}</code></span>`
            : html`<span class="b unk">serving unknown</span>`
      } <span class="muted">${v.current}/${v.total} current</span></li>`,
  )}${more > 0 ? html`<li class="muted">+${more} more nodes</li>` : ""}</ul>`;
}

function cause(row: AppRow, now: number): Html {
  const f = row.failing;
  if (f) {
    const retry = f.nextAttemptAt
      ? html`, next retry ${f.nextAttemptAt && Date.parse(f.nextAttemptAt) > now ? html`in ${Math.ceil((Date.parse(f.nextAttemptAt) - now) / 1000)} s` : html`due`}`
      : "";
    return html`<div><strong>${f.status}</strong>: ${f.step} <span class="muted">(attempt ${f.attempt}${retry}; ${f.node}/${f.instance})</span></div><div class="cause">${f.cause}</div>`;
  }
  return row.lastError ? html`<div class="cause">${row.lastError}</div>` : html`<span class="muted">—</span>`;
}

function healthText(row: AppRow): string {
  return row.health === "none" ? "no replicas 0/0" : `${row.health} ${row.healthy}/${row.desired}`;
}

export function appRowHtml(row: AppRow, now: number): Html {
  const d = row.lastDeploy;
  return html`<tr id="app-${row.app}" data-sort="${sortKey(row.attention, row.app)}" data-attention="${row.attention}">
<th scope="row"><a href="/apps/${seg(row.app)}">${row.app}</a></th>
<td>${badge(row.sync, syncTone[row.sync])}</td>
<td>${badge(healthText(row), healthTone[row.health])}</td>
<td>${versions(row)}</td>
<td>${d ? html`<a href="/history/${d.generation}">#${d.generation}</a> ${ago(d.at, now)} ${badge(d.result, resultTone[d.result])}` : html`<span class="muted">not in recent history</span>`}</td>
<td class="err">${cause(row, now)}</td>
</tr>`;
}

/** The count, and when the last repair was (what it did is on the node page and in the tooltip). */
export function driftCell(row: NodeRow, now: number): Html {
  if (row.driftRepaired === null)
    return html`<span class="muted" title="this agent does not report the drift it repairs">unknown</span>`;
  const last = row.driftLast;
  return last
    ? html`<span title="last: ${last.what}">${row.driftRepaired}</span> <span class="muted">last ${ago(last.at, now)}</span>`
    : html`${row.driftRepaired}`;
}

export function nodeRowHtml(row: NodeRow, now: number): Html {
  return html`<tr id="node-${row.node}" data-sort="${sortKey(row.attention, row.node)}" data-attention="${row.attention}">
<th scope="row" class="mono"><a href="/nodes/${seg(row.node)}">${row.node}</a></th>
<td>${badge(row.liveness, livenessTone[row.liveness], row.livenessMessage ?? (row.liveness === "unknown" ? "the reconciler does not report liveness" : undefined))}${row.livenessSince ? html` <span class="muted">since ${ago(row.livenessSince, now)}</span>` : ""}</td>
<td>${ago(row.lastSeen, now)}</td>
<td>${row.agentVersion ?? html`<span class="muted">unknown</span>`}</td>
<td>${badge(row.phase, row.phase === "converged" ? "ok" : row.phase === "failed" || row.phase === "degraded" ? "bad" : row.phase === "applying" ? "warn" : "unk")}</td>
<td>${row.inSync === null ? badge("unknown", "unk") : row.inSync ? badge("yes", "ok") : badge("no", "warn")}</td>
<td>${driftCell(row, now)}</td>
<td class="err">${row.problems.length ? html`<ul class="versions">${row.problems.map((p) => html`<li>${p}</li>`)}</ul>` : html`<span class="muted">—</span>`}</td>
<td>${row.apps}</td>
</tr>`;
}

function tipHtml(tip: TipRow | null, m: OverviewModel, now: number): Html {
  const pub = m.published;
  const published = pub.commit
    ? html`Generation <a href="/history/${pub.generation}">#${pub.generation}</a> serves <code>${shortSha(pub.commit)}</code>.`
    : html`Nothing published yet.`;
  if (!tip) {
    return html`<div id="tip" class="banner ok">Tracked branch <code>${m.trackedBranch}</code>: ${published}</div>`;
  }
  const head = html`Tracked branch <code>${m.trackedBranch}</code>: newest commit <code>${shortSha(tip.commit)}</code>${tip.subject ? html` “${tip.subject}”` : ""} ${ago(tip.at, now)} —`;
  if (tip.state === "rejected") {
    return html`<div id="tip" class="banner bad" role="alert">${head} <strong>rejected</strong> (${tip.errors} ${tip.errors === 1 ? "error" : "errors"}); nothing was published and the last good state keeps running. ${published}
<ul>${tip.diagnostics.slice(0, 5).map((d) => html`<li><code>${d.file}:${d.line}:${d.col}</code> ${d.message}</li>`)}</ul></div>`;
  }
  if (tip.state === "pending")
    return html`<div id="tip" class="banner warn">${head} <strong>being processed</strong>. ${published}</div>`;
  if (tip.state === "unchanged")
    return html`<div id="tip" class="banner ok">${head} <strong>unchanged</strong>: it changes no node's desired state. ${published}</div>`;
  return html`<div id="tip" class="banner ok">${head} <strong>published</strong>. ${published}</div>`;
}

export function summaryHtml(m: OverviewModel, now: number): Html {
  const c = m.counts;
  const health = m.health && m.health.status !== "ok" ? m.health : null;
  return html`<div id="summary">
${health ? html`<div class="banner bad" role="alert"><strong>The reconciler is ${health.status}.</strong><ul>${health.problems.map((p) => html`<li>${p.message}</li>`)}</ul></div>` : ""}
${m.alerts.length > 0 ? html`<div class="banner bad" role="alert"><strong>${m.alerts.length} open ${m.alerts.length === 1 ? "alert" : "alerts"}</strong> (<a href="/v1/alerts">GET /v1/alerts</a>)<ul>${m.alerts.map((a) => html`<li>${a.summary}${a.cause ? html` — ${a.cause}` : ""} <span class="muted">${a.status} since ${ago(a.since, now)}</span></li>`)}</ul></div>` : ""}
${tipHtml(m.tip, m, now)}
<ul class="summary">
<li><strong>${c.appsAttention}</strong> of ${c.apps} apps need attention</li>
<li><strong>${c.nodesAttention}</strong> of ${c.nodes} nodes need attention</li>
</ul>
</div>`;
}

function query(m: OverviewModel, page: number): string {
  const p = new URLSearchParams();
  if (m.page.filter.q) p.set("q", m.page.filter.q);
  if (m.page.filter.attention) p.set("attention", "1");
  if (page > 1) p.set("page", String(page));
  if (m.page.perPage !== 1000) p.set("per", String(m.page.perPage));
  const s = p.toString();
  return s ? `/?${s}` : "/";
}

function pager(m: OverviewModel): Html {
  const { page, pages, matching } = m.page;
  if (pages <= 1) return html``;
  return html`<nav class="pager" aria-label="Pages of apps">
${page > 1 ? html`<a href="${query(m, page - 1)}" rel="prev">← previous</a>` : ""}
<span>page ${page} of ${pages} (${matching} apps)</span>
${page < pages ? html`<a href="${query(m, page + 1)}" rel="next">next →</a>` : ""}
</nav>`;
}

/** Whether the live script may add rows it has not seen (only on an unfiltered first page). */
function insertable(m: OverviewModel): boolean {
  return m.page.page === 1 && !m.page.filter.q;
}

export function overviewBody(m: OverviewModel, now: number): Html {
  const f = m.page.filter;
  return html`<h1>Overview</h1>
${summaryHtml(m, now)}
<form class="filter" method="get" action="/" role="search">
<label>Filter apps <input type="search" name="q" value="${f.q ?? ""}" placeholder="name contains…" accesskey="f"></label>
<label><input type="checkbox" name="attention" value="1"${f.attention ? html` checked` : ""}> only what needs attention</label>
<button type="submit">Apply</button>
${f.q || f.attention ? html`<a href="/">clear</a>` : ""}
</form>
<h2 id="apps-title">Apps</h2>
${pager(m)}
<table id="apps" class="fixed" aria-labelledby="apps-title" data-insert="${insertable(m) ? "1" : "0"}" data-attention-only="${f.attention ? "1" : "0"}">
<colgroup><col class="c-app"><col class="c-sync"><col class="c-health"><col class="c-ver"><col class="c-deploy"><col class="c-err"></colgroup>
<thead><tr><th scope="col">App</th><th scope="col" title="Convergence: does what serves match what is desired?">Sync</th><th scope="col" title="Instances answering their health check, whatever version they run">Health</th><th scope="col">Desired commit → serving, per node</th><th scope="col">Last deploy</th><th scope="col">Failing operation / last error</th></tr></thead>
<tbody>
${m.apps.map((a) => appRowHtml(a, now))}
</tbody>
</table>
${m.apps.length === 0 ? html`<p class="muted">No apps${f.q || f.attention ? " match this filter" : " are published yet"}.</p>` : ""}
${pager(m)}
<h2 id="nodes-title">Nodes</h2>
<table id="nodes" class="fixed" aria-labelledby="nodes-title" data-insert="1" data-attention-only="${f.attention ? "1" : "0"}">
<colgroup><col class="c-node"><col class="c-live"><col class="c-seen"><col class="c-agent"><col class="c-phase"><col class="c-sync"><col class="c-drift"><col class="c-problems"><col class="c-count"></colgroup>
<thead><tr><th scope="col">Node</th><th scope="col">Liveness</th><th scope="col">Last seen</th><th scope="col">Agent</th><th scope="col">Phase</th><th scope="col">In sync</th><th scope="col">Drift repaired</th><th scope="col">Problems</th><th scope="col">Apps</th></tr></thead>
<tbody>
${m.nodes.map((n) => nodeRowHtml(n, now))}
</tbody>
</table>`;
}

/** The pieces a live update replaces: the summary, the given app rows and node rows. */
export function overviewFragment(
  m: OverviewModel,
  apps: readonly AppRow[],
  nodes: readonly NodeRow[],
  gone: readonly string[],
  now: number,
  /** The rows are the whole table: rows not among them go (after a gap in the event stream). */
  full: boolean,
): Html {
  const replace = full ? html` data-replace="1"` : "";
  return html`${summaryHtml(m, now)}
<table><tbody data-for="apps"${replace}>${apps.map((a) => appRowHtml(a, now))}${gone.map((g) => html`<tr id="app-${g}" data-gone="1"></tr>`)}</tbody></table>
<table><tbody data-for="nodes"${replace}>${nodes.map((n) => nodeRowHtml(n, now))}</tbody></table>`;
}
