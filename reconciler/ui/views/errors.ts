// Pages for what went wrong: the login form (also the 401 page), a 404 with a way back, a 500.
import { type Html, html } from "../html.js";

export function loginBody(o: { next: string; problem?: string; open: boolean }): Html {
  if (o.open) {
    return html`<h1>No login needed</h1><p>This reconciler was started without <code>--api-token-file</code>, so its pages and read API are open to whoever reaches its address. <a href="${o.next}">Continue</a>.</p>`;
  }
  return html`<div class="login">
<h1>Log in to berth</h1>
${o.problem ? html`<p class="banner bad" role="alert">${o.problem}</p>` : ""}
<p>These pages show the same data as the reconciler's read API and need the same admin token: the contents of the file given to <code>berth serve --api-token-file</code>.</p>
<form method="post" action="/login">
<input type="hidden" name="next" value="${o.next}">
<input type="text" name="username" value="admin" autocomplete="username" hidden>
<label for="token">Admin token</label>
<input type="password" id="token" name="token" autocomplete="current-password" required autofocus>
<p><button type="submit">Log in</button></p>
</form>
<p class="muted">The token is exchanged for a session cookie (HttpOnly, SameSite=Strict, Secure over HTTPS) that lasts 12 hours or until you log out or the reconciler restarts; the token itself is not stored in the browser. Scripts can keep using <code>Authorization: Bearer &lt;token&gt;</code>.</p>
</div>`;
}

export function notFoundBody(what: string, back: { href: string; label: string }): Html {
  return html`<h1>Not found</h1><p>${what}</p><p><a href="${back.href}">← ${back.label}</a></p>`;
}
