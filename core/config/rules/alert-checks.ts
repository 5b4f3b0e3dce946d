// berth.yaml's `alerts:` block beyond its schema: receiver and rule names are unique, rules name
// receivers that exist, chat receivers take their URL from the secrets file (a Slack, Discord or
// Teams webhook URL is the credential itself and must not sit in the repo), a webhook receiver has
// somewhere to post, and the alerts branch is not one of berth's other branches.
import type { RepoRule } from "./types.js";

export const alertReceivers: RepoRule = {
  name: "alert-receivers",
  scope: "repo",
  reads: ["settings"],
  check({ config }, report) {
    const origin = config.settingsOrigin;
    const alerts = config.settings.alerts;
    if (!origin || !alerts) return;
    const receivers = alerts.receivers ?? [];
    const seen = new Set<string>();
    receivers.forEach((r, i) => {
      if (seen.has(r.name)) {
        report({
          origin,
          path: ["alerts", "receivers", i, "name"],
          message: `receiver "${r.name}" is defined twice: give each receiver its own name`,
        });
      }
      seen.add(r.name);
      if (r.kind !== "webhook") {
        if (r.url !== undefined) {
          report({
            origin,
            path: ["alerts", "receivers", i, "url"],
            at: "key",
            message: `a ${r.kind} webhook URL is a credential and must not be committed: put it in the file given to \`berth serve --alert-secrets-file\` and name its entry with urlSecret`,
          });
        } else if (r.urlSecret === undefined) {
          report({
            origin,
            path: ["alerts", "receivers", i],
            message: `receiver "${r.name}" (${r.kind}) needs urlSecret: the name of the secrets-file entry holding its incoming-webhook URL`,
          });
        }
        if (r.signingSecret !== undefined) {
          report({
            origin,
            path: ["alerts", "receivers", i, "signingSecret"],
            at: "key",
            message: `signingSecret is for kind webhook only: ${r.kind} does not check signatures; remove it`,
          });
        }
      } else if (r.url === undefined && r.urlSecret === undefined) {
        report({
          origin,
          path: ["alerts", "receivers", i],
          message: `receiver "${r.name}" needs url (or urlSecret, the secrets-file entry holding the URL)`,
        });
      } else if (r.url !== undefined && r.urlSecret !== undefined) {
        report({
          origin,
          path: ["alerts", "receivers", i, "urlSecret"],
          at: "key",
          message: `receiver "${r.name}" has both url and urlSecret: keep one`,
        });
      }
    });
    const ruleNames = new Set<string>();
    (alerts.rules ?? []).forEach((rule, i) => {
      const name = rule.name ?? rule.kind;
      if (ruleNames.has(name)) {
        report({
          origin,
          path: ["alerts", "rules", i, rule.name === undefined ? "kind" : "name"],
          message: `alert rule "${name}" is defined twice${rule.name === undefined ? " (a rule without name is named after its kind)" : ""}: give it a distinct name`,
        });
      }
      ruleNames.add(name);
      (rule.receivers ?? []).forEach((r, j) => {
        if (seen.has(r)) return;
        const known = [...seen];
        report({
          origin,
          path: ["alerts", "rules", i, "receivers", j],
          message: `alert rule "${name}" names receiver "${r}", which is not defined${known.length ? ` (receivers: ${known.join(", ")})` : ": add it under alerts.receivers"}`,
        });
      });
    });
    const branch = alerts.branch;
    const s = config.settings;
    if (branch && [s.branch, s.desiredBranch, s.statusBranch].includes(branch)) {
      report({
        origin,
        path: ["alerts", "branch"],
        message: `alerts.branch "${branch}" is one of berth's other branches: berth keeps alert state apart; use another name (default berth/alerts)`,
      });
    }
  },
};
