// The alert state machine, one alert per fingerprint (rule + subject):
//
//   (none) --holds--> pending --held `for`--> firing --clear--> resolving --clear `resolveAfter`--> (none)
//      |                 |  \__clear__> (none: never notified)   ^   |  \__holds again__> firing (nothing sent)
//      |                 |                                       |   \__ every `repeatInterval` while firing: reminder
//      \__ for = 0: straight to firing
//
// Both edges are debounced: a condition must hold for `for` to open the alert and stay clear for
// `resolveAfter` to close it, so a flapping fact sends nothing new. Opening sends one "firing",
// closing one "resolved"; nothing else is sent but optional reminders. An alert whose rule left
// berth.yaml closes with a resolved notification saying so. Pure: the clock is an argument.
import { conditions, fingerprint } from "./conditions.js";
import type { AlertState, Condition, Facts, Notification, NotificationKind, Rule } from "./types.js";

export interface StepResult {
  states: Map<string, AlertState>;
  notifications: Notification[];
  /** Whether anything a restart must remember changed (status, times). */
  changed: boolean;
}

function notify(kind: NotificationKind, s: AlertState, rule: Rule | undefined, now: number): Notification {
  return {
    kind,
    fingerprint: s.fingerprint,
    rule: s.rule,
    ruleKind: s.kind,
    subject: s.subject,
    summary: kind === "resolved" ? s.resolvedSummary : s.summary,
    cause: s.cause,
    path: s.path,
    startedAt: s.firedAt ?? s.activeSince,
    at: now,
    receivers: rule?.receivers ?? [],
  };
}

export function step(
  rules: readonly Rule[],
  previous: ReadonlyMap<string, AlertState>,
  facts: Facts,
  now: number,
): StepResult {
  const states = new Map<string, AlertState>();
  const notifications: Notification[] = [];
  let changed = false;
  const ruleByName = new Map(rules.map((r) => [r.name, r]));
  const active = new Map<string, { rule: Rule; c: Condition }>();
  for (const rule of rules) {
    for (const c of conditions(rule, facts)) active.set(fingerprint(rule.name, c.subject), { rule, c });
  }

  for (const [fp, { rule, c }] of active) {
    const prev = previous.get(fp);
    if (c.unknown) {
      if (prev) states.set(fp, prev);
      continue;
    }
    const latest = { summary: c.summary, cause: c.cause, path: c.path, resolvedSummary: c.resolvedSummary };
    let s: AlertState;
    if (!prev) {
      s = {
        fingerprint: fp,
        rule: rule.name,
        kind: rule.kind,
        subject: c.subject,
        status: "pending",
        activeSince: now,
        ...latest,
      };
      changed = true;
    } else {
      s = { ...prev, ...latest };
      if (s.status === "resolving") {
        // Held again before it could close: still the same open alert, nothing to say.
        s.status = "firing";
        delete s.clearSince;
        changed = true;
      }
    }
    if (s.status === "pending" && now - s.activeSince >= rule.forMs) {
      s.status = "firing";
      s.firedAt = now;
      s.notifiedAt = now;
      notifications.push(notify("firing", s, rule, now));
      changed = true;
    } else if (s.status === "firing" && rule.repeatMs > 0 && now - (s.notifiedAt ?? now) >= rule.repeatMs) {
      s.notifiedAt = now;
      notifications.push(notify("reminder", s, rule, now));
      changed = true;
    }
    states.set(fp, s);
  }

  for (const [fp, prev] of previous) {
    if (active.has(fp)) continue;
    const rule = ruleByName.get(prev.rule);
    if (!rule || rule.kind !== prev.kind) {
      // The rule left berth.yaml: close what it opened, once, so no alert stays open for ever.
      if (prev.status !== "pending") {
        notifications.push(
          notify(
            "resolved",
            { ...prev, cause: `rule ${prev.rule} was removed from berth.yaml` },
            undefined,
            now,
          ),
        );
      }
      changed = true;
      continue;
    }
    if (prev.status === "pending") {
      changed = true; // cleared before it opened: forgotten, never notified
      continue;
    }
    const s: AlertState =
      prev.status === "firing" ? { ...prev, status: "resolving", clearSince: now } : { ...prev };
    if (prev.status === "firing") changed = true;
    if (now - (s.clearSince ?? now) >= rule.resolveMs) {
      notifications.push(notify("resolved", s, rule, now));
      changed = true;
      continue;
    }
    states.set(fp, s);
  }
  return { states, notifications, changed };
}

/** When the engine must run again at the latest, though no fact changes (a window ending, a reminder). */
export function nextDue(rules: readonly Rule[], states: ReadonlyMap<string, AlertState>): number | null {
  const ruleByName = new Map(rules.map((r) => [r.name, r]));
  let due: number | null = null;
  const at = (t: number) => {
    due = due === null ? t : Math.min(due, t);
  };
  for (const s of states.values()) {
    const r = ruleByName.get(s.rule);
    if (!r) continue;
    if (s.status === "pending") at(s.activeSince + r.forMs);
    else if (s.status === "resolving") at((s.clearSince ?? 0) + r.resolveMs);
    else if (r.repeatMs > 0) at((s.notifiedAt ?? 0) + r.repeatMs);
  }
  return due;
}
