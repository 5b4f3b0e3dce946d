// What a notification looks like on each receiver: berth's own JSON (signed by the shell), and the
// incoming-webhook formats of Slack, Discord and Microsoft Teams. Text from users and agents (app
// and node names, diagnostics, error output) is escaped for each medium so it cannot inject
// formatting, links or mentions. Pure.
import { oneLine } from "../escape.js";
import type { Notification } from "./types.js";

export type ReceiverKind = "webhook" | "slack" | "discord" | "teams";

const labels = { firing: "FIRING", reminder: "STILL FIRING", resolved: "RESOLVED" } as const;

/** `<publicUrl>/apps/web`, or null without a publicUrl (there is then no page to link). */
export function linkOf(publicUrl: string | undefined, path: string): string | null {
  if (!publicUrl) return null;
  return `${publicUrl.replace(/\/+$/, "")}${path}`;
}

/** The body of a generic webhook delivery (docs/alerts.md documents every field). */
export function webhookBody(n: Notification, link: string | null, sentAt: number): Record<string, unknown> {
  return {
    version: 1,
    status: n.kind === "resolved" ? "resolved" : "firing",
    notification: n.kind,
    fingerprint: n.fingerprint,
    rule: n.rule,
    kind: n.ruleKind,
    subject: n.subject,
    summary: n.summary,
    cause: n.cause,
    link,
    startedAt: new Date(n.startedAt).toISOString(),
    ...(n.kind === "resolved" ? { resolvedAt: new Date(n.at).toISOString() } : {}),
    sentAt: new Date(sentAt).toISOString(),
  };
}

const slackEscape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const markdownEscape = (s: string) => s.replace(/([\\`*_~|>[\]()#<@!-])/g, "\\$1");

function lines(n: Notification, esc: (s: string) => string): { title: string; cause: string } {
  // One line each (control characters, line separators and bidi controls shown escaped), then the
  // medium's own escapes: a cause cannot forge a "[RESOLVED]" line or reorder what is read.
  const title = `[${labels[n.kind]}] ${esc(oneLine(n.summary))}`;
  const cause = n.kind === "resolved" ? `was: ${esc(oneLine(n.cause))}` : esc(oneLine(n.cause));
  return { title, cause };
}

export function slackBody(n: Notification, link: string | null): Record<string, unknown> {
  const { title, cause } = lines(n, slackEscape);
  const more = link ? `\n<${slackEscape(link)}|open in berth>` : "";
  return { text: `*${title}*\n${cause}${more}`, unfurl_links: false };
}

export function discordBody(n: Notification, link: string | null): Record<string, unknown> {
  const { title, cause } = lines(n, markdownEscape);
  const more = link ? `\n<${link}>` : "";
  // No @everyone, role or user mention can come out of a cause text.
  return { content: `**${title}**\n${cause}${more}`.slice(0, 2000), allowed_mentions: { parse: [] } };
}

export function teamsBody(n: Notification, link: string | null): Record<string, unknown> {
  const esc = (s: string) => markdownEscape(slackEscape(s));
  const { title, cause } = lines(n, esc);
  return {
    "@type": "MessageCard",
    "@context": "https://schema.org/extensions",
    summary: title,
    themeColor: n.kind === "resolved" ? "2EB886" : "D00000",
    title,
    text: cause,
    ...(link
      ? {
          potentialAction: [
            { "@type": "OpenUri", name: "Open in berth", targets: [{ os: "default", uri: link }] },
          ],
        }
      : {}),
  };
}

export function bodyFor(
  kind: ReceiverKind,
  n: Notification,
  link: string | null,
  sentAt: number,
): Record<string, unknown> {
  switch (kind) {
    case "webhook":
      return webhookBody(n, link, sentAt);
    case "slack":
      return slackBody(n, link);
    case "discord":
      return discordBody(n, link);
    case "teams":
      return teamsBody(n, link);
  }
}
