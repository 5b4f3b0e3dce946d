// A plan as HTML: exactly the text `berth plan` prints (core/views/text.ts, without colours),
// each line escaped and tinted by its action symbol, so the page and the terminal never disagree.
import { renderText } from "../../../core/views/text.js";
import type { Plan } from "../../../schema/index.js";
import { type Html, html } from "../html.js";

function lineClass(line: string): string | null {
  const t = line.trimStart();
  if (t.startsWith("-/+")) return "chg";
  if (t.startsWith("+")) return "add";
  if (t.startsWith("~")) return "chg";
  if (t.startsWith("- ") || t === "-") return "del";
  if (/^(Plan:|No changes|Errors:|Node |Apps:|Domains:|Nodes:|Settings:|berth plan:)/.test(line))
    return "head";
  return null;
}

/** The plan's text view in a <pre>; `maxLines` cuts a huge plan and says how much was left out. */
export function planHtml(plan: Plan, maxLines = Number.POSITIVE_INFINITY): Html {
  const lines = renderText(plan, { color: false }).replace(/\n$/, "").split("\n");
  const shown = lines.length > maxLines ? lines.slice(0, maxLines) : lines;
  const body = shown.map((l) => {
    const c = lineClass(l);
    return c ? html`<span class="${c}">${l}</span>\n` : html`${l}\n`;
  });
  return html`<pre class="plan">${body}${lines.length > shown.length ? html`<span class="muted">… ${lines.length - shown.length} more lines</span>\n` : ""}</pre>`;
}
