// The page shell every view shares (header, navigation, live-status indicator, skip link) and the
// small pieces views reuse: badges that carry their state in words, times, short commits.
import { type Child, type Html, html } from "../html.js";

export interface PageOptions {
  title: string;
  /** Which navigation entry is the current page. */
  nav?: "overview" | "history" | null;
  /** What the live script updates on this page (data-live), or nothing for static pages. */
  live?: string | null;
  /** Show the logout button (a session cookie is in use). */
  session?: boolean;
  assets: { css: string; js: string };
  /** Id of the newest event when the page was made: the live script resumes the stream there. */
  eventId?: string | null;
  body: Child;
}

export function page(o: PageOptions): Html {
  const nav = (key: "overview" | "history", href: string, label: string) =>
    html`<a href="${href}"${o.nav === key ? html` aria-current="page"` : ""}>${label}</a>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${o.title} · berth</title>
<link rel="stylesheet" href="${o.assets.css}">
${o.live ? html`<script src="${o.assets.js}" defer></script>` : ""}
</head>
<body${o.live ? html` data-live="${o.live}" data-event-id="${o.eventId ?? ""}"` : ""}>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
<a class="brand" href="/">berth</a>
<nav aria-label="Views">${nav("overview", "/", "Overview")}${nav("history", "/history", "History")}</nav>
<span class="spacer"></span>
${o.live ? html`<span class="live" id="live" data-state="connecting" role="status" aria-live="polite">connecting…</span>` : ""}
${o.session ? html`<form method="post" action="/logout"><button type="submit">Log out</button></form>` : ""}
</header>
<main id="main" tabindex="-1">
${o.body}
</main>
</body>
</html>
`;
}

export type Tone = "ok" | "warn" | "bad" | "unk";

export function badge(text: string, tone: Tone, title?: string): Html {
  return html`<span class="b ${tone}"${title ? html` title="${title}"` : ""}>${text}</span>`;
}

export function shortSha(sha: string | null | undefined): string {
  return sha ? sha.slice(0, 7) : "—";
}

/** "12 s ago" etc. relative to `now`; the live script keeps it current from datetime. */
export function ago(iso: string | null | undefined, now: number): Html {
  if (!iso) return html`<span class="muted">never</span>`;
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return html`<span class="muted">unknown</span>`;
  return html`<time datetime="${iso}" title="${iso}" data-ago>${agoText(now - t)}</time>`;
}

export function agoText(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

export function when(iso: string | null | undefined): Html {
  if (!iso) return html`<span class="muted">—</span>`;
  return html`<time datetime="${iso}">${iso.replace("T", " ").replace(/\.\d+Z$/, "Z")}</time>`;
}
