// One node's page: its row as on the overview (liveness and since, last seen, agent version, phase,
// in sync, drift repaired, problems), the commit it should run against the one it last applied,
// the drift it repaired last, and every instance it is meant to run (app, state, health, restarts,
// last exit). Node alerts link here.
import type { NodePageModel } from "../../../core/views/ops/index.js";
import { type Html, html } from "../html.js";
import { instanceRow } from "./app.js";
import { ago, shortSha, when } from "./layout.js";
import { nodeRowHtml } from "./overview.js";

function driftText(m: NodePageModel, now: number): Html {
  const r = m.row;
  if (r.driftRepaired === null)
    return html`<span class="muted">unknown: this agent does not report the drift it repairs (an older version)</span>`;
  if (r.driftRepaired === 0 || !r.driftLast) return html`none since the agent started`;
  return html`${r.driftRepaired} since the agent started; the last ${ago(r.driftLast.at, now)} (${when(r.driftLast.at)}): <code>${r.driftLast.what}</code>`;
}

/** The part of the page the live script replaces. */
export function nodeMain(m: NodePageModel, now: number): Html {
  const r = m.row;
  return html`<div id="node-main">
<table id="node-summary" aria-label="Summary">
<thead><tr><th scope="col">Node</th><th scope="col">Liveness</th><th scope="col">Last seen</th><th scope="col">Agent</th><th scope="col">Phase</th><th scope="col">In sync</th><th scope="col">Drift repaired</th><th scope="col">Problems</th><th scope="col">Apps</th></tr></thead>
<tbody>${nodeRowHtml(r, now)}</tbody>
</table>
<dl class="facts">
<dt>Liveness</dt><dd>${r.liveness}${r.livenessSince ? html` since ${when(r.livenessSince)}` : ""}${r.livenessMessage ? html` — ${r.livenessMessage}` : ""}</dd>
<dt>Last seen</dt><dd>${r.lastSeen ? html`${ago(r.lastSeen, now)} (${when(r.lastSeen)})` : html`<span class="muted">never since the reconciler started</span>`}</dd>
<dt>Commit</dt><dd>desired <code>${shortSha(m.desiredCommit)}</code>, ${m.sameDocument && m.appliedCommit !== m.desiredCommit ? html`applied: the same document, which it first applied at <code>${shortSha(m.appliedCommit)}</code>` : html`last applied completely <code>${shortSha(m.appliedCommit)}</code>`}</dd>
<dt>Drift repaired</dt><dd id="drift">${driftText(m, now)}</dd>
</dl>
<h2 id="inst-title">Instances</h2>
<table aria-labelledby="inst-title">
<thead><tr><th scope="col">App</th><th scope="col">Instance</th><th scope="col">Slot</th><th scope="col">Port</th><th scope="col">State</th><th scope="col">Health</th><th scope="col">Version</th><th scope="col">Restarts</th><th scope="col">Since</th><th scope="col">Problem / last exit</th></tr></thead>
<tbody id="instances">${m.instances.map((i) => instanceRow(i, now, "app"))}</tbody>
</table>
${m.instances.length === 0 ? html`<p class="muted">Nothing is published for this node to run.</p>` : ""}
</div>`;
}

export function nodeBody(m: NodePageModel, now: number): Html {
  return html`<p><a href="/">← Overview</a></p>
<h1>Node <span class="mono">${m.node}</span></h1>
${nodeMain(m, now)}`;
}
