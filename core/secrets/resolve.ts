// The app spec the desired-state builder sees: each env entry {secret: NAME} carries the armored
// ciphertext of secret NAME from the app's Secrets document, so a changed secret changes the
// spec (and the workloads' specHash) like any env change. Specs are made once per pair of app
// spec and Secrets document objects, so an unchanged app keeps the same object from one commit
// to the next (the builder compares by identity first). Pure; nothing is decrypted.
import type { SecretRef } from "../../schema/index.js";
import type { AppSpec, SecretsSpec } from "../config/model.js";
import { isSecretRef, usesSecrets } from "./refs.js";

/** An env entry that takes a secret, with the ciphertext the agent will decrypt. */
export interface ResolvedSecretRef extends SecretRef {
  ciphertext: string;
}

export const isResolvedSecretRef = (v: unknown): v is ResolvedSecretRef =>
  isSecretRef(v) && typeof (v as ResolvedSecretRef).ciphertext === "string";

const made = new WeakMap<AppSpec, { secrets: SecretsSpec | undefined; spec: AppSpec }>();

/**
 * `app` with the ciphertext of each secret its env uses; `app` itself when it uses none. A secret
 * that does not exist is left without ciphertext (validation reports it before this is used).
 */
export function withCiphertexts(app: AppSpec, secrets: SecretsSpec | undefined): AppSpec {
  if (!usesSecrets(app)) return app;
  const hit = made.get(app);
  if (hit && hit.secrets === secrets) return hit.spec;
  const env: Record<string, string | SecretRef> = {};
  for (const [k, v] of Object.entries(app.env ?? {})) {
    const value = isSecretRef(v) ? secrets?.secrets[v.secret] : undefined;
    env[k] = value ? ({ secret: (v as SecretRef).secret, ciphertext: value.ciphertext } as SecretRef) : v;
  }
  const spec: AppSpec = { ...app, env };
  made.set(app, { secrets, spec });
  return spec;
}
