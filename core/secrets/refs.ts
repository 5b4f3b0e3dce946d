// How an app's env refers to its encrypted secrets, and where those secrets are: env entries of
// the form {secret: NAME} take the value of secret NAME in the app's Secrets document
// (secrets/<app>.yaml). Pure; nothing here decrypts.
import type { SecretRef } from "../../schema/index.js";
import type { AppSpec, Config, Entry, SecretsSpec } from "../config/model.js";

export interface SecretUse {
  /** The env variable that gets the value. */
  env: string;
  /** The secret it comes from. */
  secret: string;
}

export const isSecretRef = (v: unknown): v is SecretRef =>
  typeof v === "object" && v !== null && typeof (v as SecretRef).secret === "string";

/** The env entries of `app` that take their value from a secret, in env-name order. */
export function secretUses(app: Pick<AppSpec, "env">): SecretUse[] {
  const out: SecretUse[] = [];
  const env = app.env;
  if (!env) return out;
  for (const k of Object.keys(env).sort()) {
    const v = env[k];
    if (isSecretRef(v)) out.push({ env: k, secret: v.secret });
  }
  return out;
}

/** True when some env entry of `app` takes its value from a secret (no allocation otherwise). */
export function usesSecrets(app: Pick<AppSpec, "env">): boolean {
  const env = app.env;
  if (!env) return false;
  for (const k in env) if (typeof env[k] !== "string") return true;
  return false;
}

const indexes = new WeakMap<readonly Entry<SecretsSpec>[], Map<string, Entry<SecretsSpec>>>();

/**
 * The Secrets document of each app (the first one when an app has several: duplicate-secrets
 * reports the others), made once per list of Secrets entries.
 */
export function secretsByApp(config: Pick<Config, "secrets">): ReadonlyMap<string, Entry<SecretsSpec>> {
  let index = indexes.get(config.secrets);
  if (!index) {
    index = new Map();
    for (const e of config.secrets) if (!index.has(e.spec.app)) index.set(e.spec.app, e);
    indexes.set(config.secrets, index);
  }
  return index;
}
