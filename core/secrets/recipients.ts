// Who a secret of an app is encrypted to: every node that may run the app (its eligible nodes by
// placement: worker role, runtime, placement.nodes/labels; cordoned nodes too, they come back)
// that has an age identity, then every operator of berth.yaml. Nodes come first because the age
// library tries a file's stanzas in order, one X25519 exchange each: an agent decrypts at every
// start, an operator rarely (a pinned app's node decrypts with one exchange instead of 1 + the
// number of operators). And what `berth secret rekey`
// would change for each secret. Pure: recipient strings in, recipient strings out.
import type { AppSpec, Config, SecretsSpec } from "../config/model.js";
import { type Candidates, candidateNodes } from "../placement/eligibility.js";
import { buildNodeTable, type NodeTable } from "../placement/index.js";
import { appRequest } from "../placement/request.js";
import { secretsByApp } from "./refs.js";

export interface Intended {
  /** Nodes by name, then operators (berth.yaml order); each recipient once. */
  recipients: string[];
  /** Eligible nodes that have no recipient yet (berth node identity gives them one). */
  withoutIdentity: string[];
}

/** Labels for recipients, for people: `operator alice`, `node web-1`. */
export function recipientLabels(config: Config): Map<string, string> {
  const out = new Map<string, string>();
  for (const o of config.settings.operators ?? [])
    if (!out.has(o.recipient)) out.set(o.recipient, `operator ${o.name}`);
  const nodes = [...config.nodes].sort((a, b) => (a.spec.name < b.spec.name ? -1 : 1));
  for (const n of nodes)
    if (n.spec.recipient && !out.has(n.spec.recipient)) out.set(n.spec.recipient, `node ${n.spec.name}`);
  return out;
}

export class RecipientPlanner {
  private readonly table: NodeTable;
  private readonly memo = new Map<string, Candidates>();

  constructor(private readonly config: Config) {
    this.table = buildNodeTable(config.nodes.map((e) => e.spec));
  }

  /** The recipients a secret of `app` should be encrypted to. */
  intended(app: AppSpec): Intended {
    const seen = new Set<string>();
    const recipients: string[] = [];
    const add = (r: string) => {
      if (seen.has(r)) return;
      seen.add(r);
      recipients.push(r);
    };
    const withoutIdentity: string[] = [];
    for (const i of candidateNodes(this.table, appRequest(app), this.memo).all) {
      const spec = this.table.specs[i];
      if (!spec) continue;
      if (spec.recipient) add(spec.recipient);
      else withoutIdentity.push(spec.name);
    }
    for (const o of this.config.settings.operators ?? []) add(o.recipient);
    return { recipients, withoutIdentity };
  }
}

export interface RekeyItem {
  app: string;
  secret: string;
  /** Recipients to add and to drop, and the resulting list. */
  add: string[];
  remove: string[];
  recipients: string[];
}

/**
 * For every secret of `apps` (default: every app with secrets), the recipients rekey would add
 * and drop. Secrets already encrypted to exactly the intended recipients are left out; so are
 * secrets of apps that do not exist (nothing could run them: berth secret rm removes them).
 */
export function rekeyPlan(config: Config, apps?: readonly string[]): RekeyItem[] {
  const planner = new RecipientPlanner(config);
  const specs = new Map(config.apps.map((e) => [e.spec.name, e.spec]));
  const out: RekeyItem[] = [];
  const wanted = apps ? new Set(apps) : undefined;
  const index = secretsByApp(config);
  for (const [app, entry] of [...index].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (wanted && !wanted.has(app)) continue;
    const spec = specs.get(app);
    if (!spec) continue;
    const { recipients } = planner.intended(spec);
    for (const name of Object.keys(entry.spec.secrets).sort()) {
      const value = (entry.spec as SecretsSpec).secrets[name] as SecretsSpec["secrets"][string];
      const now = new Set(value.recipients);
      const target = new Set(recipients);
      const add = recipients.filter((r) => !now.has(r));
      const remove = value.recipients.filter((r) => !target.has(r));
      if (add.length === 0 && remove.length === 0) continue;
      out.push({ app, secret: name, add, remove, recipients });
    }
  }
  return out;
}
