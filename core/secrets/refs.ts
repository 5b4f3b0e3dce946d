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

const NONE: readonly SecretUse[] = Object.freeze([]);
const uses = new WeakMap<object, readonly SecretUse[]>();

/**
 * The env entries of `app` that take their value from a secret, in env-name order. Remembered per
 * spec object (the loader shares unchanged specs between loads, and several rules ask).
 */
export function secretUses(app: Pick<AppSpec, "env">): readonly SecretUse[] {
  const env = app.env;
  if (!env || !usesSecrets(app)) return NONE;
  const hit = uses.get(env);
  if (hit) return hit;
  const out: SecretUse[] = [];
  for (const k of Object.keys(env).sort()) {
    const v = env[k];
    if (isSecretRef(v)) out.push({ env: k, secret: v.secret });
  }
  uses.set(env, out);
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
