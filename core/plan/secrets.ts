// How plans show encrypted secrets: by name, with what happened to them — added, removed,
// changed (a new value was set) or re-encrypted (berth secret rekey: new recipients, same value)
// — and never a value or a ciphertext. Pure.
import type { FieldChange, Workload } from "../../schema/index.js";
import type { SecretsSpec } from "../config/model.js";

type Value = SecretsSpec["secrets"][string];

/** changed or re-encrypted: `updated` is when the value was set, which rekey keeps. */
function kindOf(before: Value | undefined, after: Value | undefined): "changed" | "re-encrypted" {
  return before?.updated !== undefined && before.updated === after?.updated ? "re-encrypted" : "changed";
}

/** The secrets of one app's Secrets document that differ between two versions of it. */
export function secretsChanges(before: SecretsSpec | null, after: SecretsSpec | null): FieldChange[] {
  const a = before?.secrets ?? {};
  const b = after?.secrets ?? {};
  const out: FieldChange[] = [];
  for (const name of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    const was = a[name];
    const will = b[name];
    const field = `secrets.${name}`;
    if (!was) out.push({ field, secret: "added" });
    else if (!will) out.push({ field, secret: "removed" });
    else if (was.ciphertext !== will.ciphertext) out.push({ field, secret: kindOf(was, will) });
    // Recipients listed differently over the same ciphertext change nothing a node runs.
  }
  return out;
}

/**
 * Field changes of a replaced workload with the `secrets.<ENV>.*` leaves folded into one change
 * per env entry; `before`/`after` give the app's Secrets documents to tell a new value from a
 * re-encryption.
 */
export function foldWorkloadSecrets(
  changes: FieldChange[],
  was: Workload,
  will: Workload,
  before: SecretsSpec | undefined,
  after: SecretsSpec | undefined,
): FieldChange[] {
  if (!changes.some((c) => c.field.startsWith("secrets."))) return changes;
  const out: FieldChange[] = [];
  const done = new Set<string>();
  for (const c of changes) {
    if (!c.field.startsWith("secrets.")) {
      out.push(c);
      continue;
    }
    const env = c.field.slice("secrets.".length).split(".")[0] as string;
    if (done.has(env)) continue;
    done.add(env);
    const x = was.secrets?.[env];
    const y = will.secrets?.[env];
    const field = `secrets.${env}`;
    if (!x) out.push({ field, secret: "added" });
    else if (!y) out.push({ field, secret: "removed" });
    else
      out.push({
        field,
        secret:
          x.secret === y.secret ? kindOf(before?.secrets[x.secret], after?.secrets[y.secret]) : "changed",
      });
  }
  return out.sort((p, q) => (p.field < q.field ? -1 : p.field > q.field ? 1 : 0));
}
