// Each receiver's body for one notification: berth's webhook JSON with every documented field,
// and Slack, Discord and Teams bodies in which user text cannot inject formatting, links or
// mentions. Links point at the operations page only when a publicUrl is set.
import { describe, expect, it } from "vitest";
import { bodyFor, linkOf, type Notification } from "../../core/alerts/index.js";

const n: Notification = {
  kind: "firing",
  fingerprint: "0123456789abcdef",
  rule: "deploy-failed",
  ruleKind: "deploy-failed",
  subject: { app: "web" },
  summary: "deploy of app web failed",
  cause: "n1/web-0: <script> *boom* @everyone [x](http://evil) & more",
  path: "/apps/web",
  startedAt: Date.parse("2026-01-01T00:00:00Z"),
  at: Date.parse("2026-01-01T00:00:05Z"),
  receivers: [],
};
const sent = Date.parse("2026-01-01T00:00:06Z");

describe("alert payloads", () => {
  it("links under publicUrl, or not at all", () => {
    expect(linkOf("https://berth.example.com/", "/apps/web")).toBe("https://berth.example.com/apps/web");
    expect(linkOf(undefined, "/apps/web")).toBeNull();
  });

  it("webhook: berth's JSON with status, fingerprint, cause, link and times", () => {
    expect(bodyFor("webhook", n, "https://b.example/apps/web", sent)).toEqual({
      version: 1,
      status: "firing",
      notification: "firing",
      fingerprint: "0123456789abcdef",
      rule: "deploy-failed",
      kind: "deploy-failed",
      subject: { app: "web" },
      summary: "deploy of app web failed",
      cause: n.cause,
      link: "https://b.example/apps/web",
      startedAt: "2026-01-01T00:00:00.000Z",
      sentAt: "2026-01-01T00:00:06.000Z",
    });
    expect(bodyFor("webhook", { ...n, kind: "resolved" }, null, sent)).toMatchObject({
      status: "resolved",
      resolvedAt: "2026-01-01T00:00:05.000Z",
      link: null,
    });
  });

  it("slack: mrkdwn with <, > and & escaped and a link", () => {
    expect(bodyFor("slack", n, "https://b.example/apps/web", sent)).toEqual({
      text: "*[FIRING] deploy of app web failed*\nn1/web-0: &lt;script&gt; *boom* @everyone [x](http://evil) &amp; more\n<https://b.example/apps/web|open in berth>",
      unfurl_links: false,
    });
  });

  it("discord: markdown escaped, no mentions allowed", () => {
    const body = bodyFor("discord", { ...n, kind: "resolved", summary: "app web deployed" }, null, sent);
    expect(body).toEqual({
      content:
        "**[RESOLVED] app web deployed**\nwas: n1/web\\-0: \\<script\\> \\*boom\\* \\@everyone \\[x\\]\\(http://evil\\) & more",
      allowed_mentions: { parse: [] },
    });
  });

  it("teams: a MessageCard with the cause escaped and an open-link action", () => {
    const body = bodyFor("teams", { ...n, kind: "reminder" }, "https://b.example/apps/web", sent);
    expect(body).toMatchObject({
      "@type": "MessageCard",
      title: "[STILL FIRING] deploy of app web failed",
      text: "n1/web\\-0: &lt;script&gt; \\*boom\\* \\@everyone \\[x\\]\\(http://evil\\) &amp; more",
      potentialAction: [
        { "@type": "OpenUri", targets: [{ os: "default", uri: "https://b.example/apps/web" }] },
      ],
    });
  });
});
