// age identities and ciphertexts for tests, made with the age-encryption library (the reference
// TypeScript implementation); interop.test.ts checks them against the `age` CLI.
import { armor, Encrypter, generateX25519Identity, identityToRecipient } from "age-encryption";
import { renderSecretsFile } from "../../core/secrets/file.js";

export interface Keypair {
  identity: string;
  recipient: string;
}

export async function keypair(): Promise<Keypair> {
  const identity = await generateX25519Identity();
  return { identity, recipient: await identityToRecipient(identity) };
}

/** Armored age ciphertext of `value` for `recipients`, header stanzas in that order. */
export async function encryptTo(recipients: readonly string[], value: string): Promise<string> {
  const e = new Encrypter();
  for (const r of recipients) e.addRecipient(r);
  return armor.encode(await e.encrypt(value));
}

/** A passphrase-encrypted ciphertext (scrypt stanza), which no node can use. */
export async function encryptWithPassphrase(value: string): Promise<string> {
  const e = new Encrypter();
  e.setPassphrase("correct horse battery staple");
  e.setScryptWorkFactor(10);
  return armor.encode(await e.encrypt(value));
}

/** secrets/<app>.yaml with each secret encrypted to `recipients`. */
export async function secretsFile(
  app: string,
  values: Record<string, string>,
  recipients: readonly string[],
  updated = "2026-11-20T10:00:00Z",
): Promise<string> {
  const secrets: Record<string, { recipients: [string, ...string[]]; updated: string; ciphertext: string }> =
    {};
  for (const [k, v] of Object.entries(values)) {
    secrets[k] = {
      recipients: [...recipients] as [string, ...string[]],
      updated,
      ciphertext: await encryptTo(recipients, v),
    };
  }
  return renderSecretsFile({ kind: "Secrets", app, secrets }, () => undefined);
}
