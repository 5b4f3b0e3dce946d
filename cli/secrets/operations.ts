// What the secret commands do to the repo, apart from flags and printing: set, remove and rekey
// secrets in secrets/<app>.yaml, and list them. Values exist here only between reading (or
// decrypting) and encrypting; they are never printed, logged or put in an error.
import type { Config } from "../../core/config/index.js";
import {
  RecipientPlanner,
  type RekeyItem,
  recipientLabels,
  rekeyPlan,
} from "../../core/secrets/recipients.js";
import { secretsByApp, secretUses } from "../../core/secrets/refs.js";
import { UserError } from "../errors.js";
import { decrypt, encrypt } from "./age.js";
import { appOf, type SecretsFile, secretsFileOf, writeSecretsFile } from "./repo.js";

const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

export function checkName(key: string): void {
  if (!NAME.test(key))
    throw new UserError(
      `${JSON.stringify(key)} is not a secret name: use letters, digits and '_', not starting with a digit (like an environment variable)`,
    );
}

/** Now, as secrets files record it (UTC, whole seconds). */
export const timestamp = (d = new Date()): string => d.toISOString().replace(/\.\d+Z$/, "Z");

export interface SetResult {
  file: SecretsFile["file"];
  recipients: string[];
  /** Nodes that may run the app but have no identity: they cannot read it. */
  withoutIdentity: string[];
  /** Whether the app's env uses the secret already. */
  used: boolean;
  replaced: boolean;
}

export async function setSecret(
  repo: string,
  config: Config,
  app: string,
  key: string,
  value: string,
): Promise<SetResult> {
  checkName(key);
  const spec = await appOf(config, app);
  if ((config.settings.operators ?? []).length === 0)
    throw new UserError(
      "berth.yaml lists no operators, so no one could read this secret back or rekey it",
      "add yourself under operators in berth.yaml (berth secret keygen prints the lines), then run this again",
    );
  const f = await secretsFileOf(repo, config, app);
  const { recipients, withoutIdentity } = new RecipientPlanner(config).intended(spec);
  const replaced = Object.hasOwn(f.spec.secrets, key);
  f.spec.secrets[key] = {
    recipients: recipients as [string, ...string[]],
    updated: timestamp(),
    ciphertext: await encrypt(recipients, value),
  };
  writeSecretsFile(repo, config, f);
  const used = secretUses(spec).some((u) => u.secret === key);
  return { file: f.file, recipients, withoutIdentity, used, replaced };
}

export async function removeSecrets(repo: string, config: Config, app: string, keys: string[] | "all") {
  const f = await secretsFileOf(repo, config, app);
  if (!f.exists) throw new UserError(`app ${app} has no secrets`);
  const names = keys === "all" ? Object.keys(f.spec.secrets) : keys;
  for (const k of names) {
    if (!Object.hasOwn(f.spec.secrets, k))
      throw new UserError(
        `app ${app} has no secret ${k}`,
        `its secrets: ${Object.keys(f.spec.secrets).join(", ") || "none"}`,
      );
    delete f.spec.secrets[k];
  }
  const how = writeSecretsFile(repo, config, f);
  // The env entries that still take a removed secret: validation will refuse them until fixed.
  const spec = config.apps.find((e) => e.spec.name === app)?.spec;
  const stillUsed = spec
    ? secretUses(spec)
        .filter((u) => names.includes(u.secret))
        .map((u) => u.env)
    : [];
  return { file: f.file, removed: names, how, stillUsed };
}

export interface ListRow {
  app: string;
  secret: string;
  updated: string | null;
  file: string;
  recipients: string[];
  /** Eligible nodes that cannot read it (not among its recipients): berth secret rekey adds them. */
  unreadableBy: string[];
  /** Recipients that are no operator and no eligible node any more: rekey drops them. */
  stale: string[];
  used: boolean;
}

export function listSecrets(config: Config, app?: string): ListRow[] {
  const labels = recipientLabels(config);
  const planner = new RecipientPlanner(config);
  const rows: ListRow[] = [];
  const apps = new Map(config.apps.map((e) => [e.spec.name, e.spec]));
  const byNode = new Map(config.nodes.map((e) => [e.spec.recipient, e.spec.name]));
  for (const [name, entry] of [...secretsByApp(config)].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (app && name !== app) continue;
    const spec = apps.get(name);
    const intended = spec ? planner.intended(spec) : { recipients: [], withoutIdentity: [] };
    const used = new Set(spec ? secretUses(spec).map((u) => u.secret) : []);
    for (const [secret, v] of Object.entries(entry.spec.secrets).sort(([a], [b]) => (a < b ? -1 : 1))) {
      const have = new Set(v.recipients);
      const want = new Set(intended.recipients);
      rows.push({
        app: name,
        secret,
        updated: v.updated ?? null,
        file: entry.origin.file,
        recipients: v.recipients.map((r) => labels.get(r) ?? `unknown ${r.slice(0, 12)}…`),
        unreadableBy: [
          ...intended.recipients
            .filter((r) => !have.has(r) && byNode.has(r))
            .map((r) => byNode.get(r) as string),
          ...intended.withoutIdentity,
        ],
        stale: v.recipients
          .filter((r) => !want.has(r))
          .map((r) => labels.get(r) ?? `unknown ${r.slice(0, 12)}…`),
        used: used.has(secret),
      });
    }
  }
  return rows;
}

export interface RekeyResult {
  items: (RekeyItem & { file: string })[];
  labels: Map<string, string>;
}

/**
 * Re-encrypts every secret of `apps` (default: all) whose recipients differ from the intended
 * ones, keeping its value and `updated`. With `dryRun` nothing is decrypted or written.
 */
export async function rekey(
  repo: string,
  config: Config,
  apps: string[] | undefined,
  identity: { keys: string[]; file: string } | null,
): Promise<RekeyResult> {
  for (const a of apps ?? []) await appOf(config, a);
  const plan = rekeyPlan(config, apps);
  const labels = recipientLabels(config);
  const items: RekeyResult["items"] = [];
  const files = new Map<string, SecretsFile>();
  for (const item of plan) {
    let f = files.get(item.app);
    if (!f) {
      f = await secretsFileOf(repo, config, item.app);
      files.set(item.app, f);
    }
    items.push({ ...item, file: f.file });
    if (!identity) continue;
    const v = f.spec.secrets[item.secret] as SecretsFile["spec"]["secrets"][string];
    const value = await decrypt(
      identity.keys,
      v.ciphertext,
      `secret ${item.secret} of app ${item.app}`,
      identity.file,
    );
    f.spec.secrets[item.secret] = {
      recipients: item.recipients as [string, ...string[]],
      ...(v.updated !== undefined ? { updated: v.updated } : {}),
      ciphertext: await encrypt(item.recipients, value),
    };
  }
  if (identity) for (const f of files.values()) writeSecretsFile(repo, config, f);
  return { items, labels };
}
