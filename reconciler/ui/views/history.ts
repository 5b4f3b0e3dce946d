// The history page (published generations, newest first, each with its plan summary, its source
// commit linked on the forge, and the exact `berth rollback` command) and one generation's page
// with its whole plan.
import type { GenerationInput, GenerationRow } from "../../../core/views/ops/index.js";
import type { Plan } from "../../../schema/index.js";
import { type Html, html } from "../html.js";
import { ago, badge, shortSha, when } from "./layout.js";
import { planHtml } from "./plan.js";

function summaryText(r: GenerationRow): string {
  const s = r.summary;
  if (!s) return "plan not recorded";
  return s.add + s.change + s.remove === 0
    ? "no changes"
    : `${s.add} to add, ${s.change} to change, ${s.remove} to remove`;
}

function commitCell(r: GenerationRow): Html {
  if (!r.commit) return html`<span class="muted">unknown</span>`;
  const code = html`<code>${shortSha(r.commit)}</code>`;
  return html`${r.branch ? html`<span class="muted">${r.branch}@</span>` : ""}${r.commitUrl ? html`<a href="${r.commitUrl}" rel="noreferrer">${code}</a>` : code}`;
}

/** Lines of a plan shown inline in the history list; the generation's page has all of it. */
const PLAN_LINES = 40;

export function historyRowHtml(r: GenerationRow, now: number, plan?: Plan | null): Html {
  return html`<tr id="gen-${r.generation}">
<th scope="row"><a href="/history/${r.generation}">#${r.generation}</a>${r.current ? html` ${badge("serving", "ok")}` : ""}</th>
<td>${ago(r.at, now)}</td>
<td>${commitCell(r)}</td>
<td>${r.subject ?? ""}</td>
<td>${summaryText(r)}${plan ? html`<details><summary>plan</summary>${planHtml(plan, PLAN_LINES)}</details>` : ""}</td>
<td>${r.rollback ? html`<code class="cmd">${r.rollback}</code>` : html`<span class="muted">${r.current ? "serving now" : "—"}</span>`}</td>
</tr>`;
}

export function historyTable(
  rows: readonly GenerationRow[],
  now: number,
  plans: ReadonlyMap<number, Plan | null> = new Map(),
): Html {
  return html`<table id="history" aria-labelledby="history-title">
<thead><tr><th scope="col">Generation</th><th scope="col">Published</th><th scope="col">Source commit</th><th scope="col">Subject</th><th scope="col">Plan</th><th scope="col">Roll back to it (run in the config repo)</th></tr></thead>
<tbody id="history-rows">${rows.map((r) => historyRowHtml(r, now, plans.get(r.generation)))}</tbody>
</table>`;
}

export function historyBody(
  rows: readonly GenerationRow[],
  now: number,
  paging: { before: number | null; next: number | null },
  plans: ReadonlyMap<number, Plan | null> = new Map(),
): Html {
  return html`<h1 id="history-title">History</h1>
<p class="muted">Every published generation of the desired branch, newest first. A rollback is a new commit on the tracked branch with the old config (history is kept); the reconciler publishes it like any commit.</p>
${rows.length === 0 ? html`<p>Nothing published yet.</p>` : historyTable(rows, now, plans)}
<nav class="pager" aria-label="Older generations">${paging.before !== null ? html`<a href="/history">newest</a>` : ""}${paging.next !== null ? html`<a href="/history?before=${paging.next}" rel="next">older →</a>` : ""}</nav>`;
}

export function generationBody(g: GenerationInput, row: GenerationRow, now: number): Html {
  return html`<p><a href="/history">← History</a></p>
<h1>Generation #${g.generation}${row.current ? html` ${badge("serving", "ok")}` : ""}</h1>
<dl>
<dt>Published</dt><dd>${when(g.at)} (${ago(g.at, now)})</dd>
<dt>Source</dt><dd>${commitCell(row)} ${row.subject ?? ""}</dd>
<dt>Desired-branch commit</dt><dd><code>${g.desiredCommit}</code></dd>
<dt>Roll back to it</dt><dd>${row.rollback ? html`<code class="cmd">${row.rollback}</code> <span class="muted">(in a clone of the config repo, on the tracked branch; add --push to push it)</span>` : html`<span class="muted">this generation is serving now</span>`}</dd>
</dl>
<h2>Plan</h2>
${g.plan ? planHtml(g.plan) : html`<p class="muted">This generation has no plan.json (written by an older berth).</p>`}`;
}
