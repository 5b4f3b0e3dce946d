// berth's own alerting, the pure part: facts → conditions → alert states → notifications, and how a
// notification looks on each receiver. The shell (delivery, retries, persistence, wiring) is
// reconciler/alerts/. See docs/alerts.md.
export { conditions, fingerprint } from "./conditions.js";
export { nextDue, type StepResult, step } from "./engine.js";
export { type Liveness, livenessDefaults, livenessOf } from "./liveness.js";
export { bodyFor, linkOf, type ReceiverKind } from "./payloads.js";
export { normalizeRules, parseDuration, ruleDefaults, ruleKinds } from "./rules.js";
export type * from "./types.js";
