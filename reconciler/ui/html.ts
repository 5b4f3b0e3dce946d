// The one HTML template helper of the operations page: html`…${value}…` escapes every value
// (html-escaper: & < > " '; bidi and control characters shown as \u{…}) unless it is itself the
// result of html`…`, so text from a config repo, an agent or a commit can never become markup nor
// reorder what is read. Arrays are joined; null, undefined and booleans render as nothing (so
// `${cond && html`…`}` works). Attributes must be quoted in the template.
import { escape as escapeHtml } from "html-escaper";

/** Markup produced by html`…` (or trusted by raw()); the only thing inserted without escaping. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export type Child = Html | string | number | null | undefined | boolean | readonly Child[];

function render(v: Child): string {
  if (v === null || v === undefined || v === true || v === false) return "";
  if (v instanceof Html) return v.text;
  if (typeof v === "number") return String(v);
  if (Array.isArray(v)) {
    let out = "";
    for (const c of v as readonly Child[]) out += render(c);
    return out;
  }
  return escapeHtml(v as string).replace(bidi, (c) => `\\u{${(c.codePointAt(0) as number).toString(16)}}`);
}

// Bidirectional controls reorder what a reader sees ("Trojan Source"), in a page as in a terminal:
// shown as visible escapes, like core/escape.ts does for every other medium. Line breaks stay: in
// HTML they are white space, and <pre> blocks hold lines berth split itself.
// Control characters other than tab and line breaks (ESC, DEL, C1) are shown the same way.
const bidi =
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]/g;

export function html(strings: TemplateStringsArray, ...values: Child[]): Html {
  let out = strings[0] ?? "";
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? "");
  return new Html(out);
}

/** Markup berth wrote itself (never anything that came from a user, a repo or an agent). */
export function raw(text: string): Html {
  return new Html(text);
}

/** A path segment for a link (app and node names are DNS labels, but a link must not trust that). */
export function seg(value: string | number): string {
  return encodeURIComponent(String(value));
}
