// Decrypts the secrets a workload's env takes, with this node's age identity, when an instance
// starts. The plaintext goes straight to the driver that starts the instance and is not kept: a
// restart of the same instance decrypts again. The age library (and the identity file) are loaded
// on the first workload that has secrets, so an agent whose documents have none never pays for
// them (the agent's idle RSS goal is 60 MB, docs/agent.md). Errors name the app, the secret and
// what to do — never a value.
import { webcrypto } from "node:crypto";
import type { Workload } from "../../schema/index.js";
import { IdentityError, type IdentityFile, readIdentityFile } from "./identity.js";

export type SecretEnv = NonNullable<Workload["secrets"]>;

export interface SecretResolver {
  /** The plaintext of each env entry of `secrets`, by env name. Rejects with a SecretError. */
  decrypt(app: string, secrets: SecretEnv): Promise<Record<string, string>>;
}

export class SecretError extends Error {
  override name = "SecretError";
}

export interface ResolverOptions {
  /** The node's age identity file (berth node add / berth node identity write it). */
  identityFile?: string;
  /** Told once per identity file that group or others may read it. */
  warn?: (message: string) => void;
}

type Age = typeof import("age-encryption");
type CryptoKey = webcrypto.CryptoKey;

// PKCS #8 wrapping of a raw X25519 private key (RFC 8410): WebCrypto imports X25519 private keys
// only as PKCS #8 or JWK. Importing once and handing the library a CryptoKey saves re-importing
// the key for every decryption (measured: 100 decryptions 254 → 135 ms sequentially).
const PKCS8_X25519 = [
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20,
];

export function createSecretResolver(opts: ResolverOptions): SecretResolver {
  let loaded: { file: IdentityFile; keys: CryptoKey[]; age: Age } | undefined;
  let warned = false;

  async function identity(): Promise<{ keys: CryptoKey[]; age: Age }> {
    if (!opts.identityFile) {
      throw new SecretError(
        "this agent has no age identity: start it with --identity-file (berth node identity NODE makes one and prints the recipient to commit)",
      );
    }
    const file = await readIdentityFile(opts.identityFile);
    if (loaded && loaded.file.mtimeMs === file.mtimeMs && loaded.file.keys.join() === file.keys.join())
      return loaded;
    if (file.looseMode !== undefined && !warned) {
      warned = true;
      opts.warn?.(
        `the age identity file ${opts.identityFile} may be read by others (mode ${file.looseMode.toString(8)}): chmod 600 it`,
      );
    }
    const [age, { bech32 }] = await Promise.all([import("age-encryption"), import("@scure/base")]);
    const keys: CryptoKey[] = [];
    for (const k of file.keys) {
      const raw = bech32.decodeToBytes(k).bytes;
      const pkcs8 = new Uint8Array([...PKCS8_X25519, ...raw]);
      keys.push(await webcrypto.subtle.importKey("pkcs8", pkcs8, { name: "X25519" }, false, ["deriveBits"]));
      pkcs8.fill(0);
      raw.fill(0);
    }
    loaded = { file, keys, age };
    return loaded;
  }

  return {
    async decrypt(app, secrets) {
      const entries = Object.entries(secrets);
      if (entries.length === 0) return {};
      let id: { keys: CryptoKey[]; age: Age };
      try {
        id = await identity();
      } catch (e) {
        const names = entries.map(([, s]) => s.secret).join(", ");
        const why = e instanceof IdentityError || e instanceof SecretError ? e.message : String(e);
        throw new SecretError(
          `cannot decrypt secret${entries.length === 1 ? "" : "s"} ${names} of app ${app}: ${why}`,
        );
      }
      const decrypter = new id.age.Decrypter();
      for (const key of id.keys) decrypter.addIdentity(key as Parameters<typeof decrypter.addIdentity>[0]);
      // In parallel: WebCrypto's X25519 runs on libuv's thread pool.
      const values = await Promise.all(
        entries.map(async ([env, s]) => {
          try {
            return [env, await decrypter.decrypt(id.age.armor.decode(s.ciphertext), "text")] as const;
          } catch (e) {
            throw new SecretError(explain(app, s.secret, (e as Error).message));
          }
        }),
      );
      return Object.fromEntries(values);
    },
  };
}

/** What a decryption failure means for an operator, from the library's message. */
function explain(app: string, secret: string, why: string): string {
  const head = `cannot decrypt secret ${secret} of app ${app}`;
  if (/no identity matched/i.test(why))
    return `${head}: it is not encrypted to this node's age identity (the node's identity changed, or the secret was not rekeyed after a node change): run \`berth secret rekey ${app}\` and commit secrets/${app}.yaml`;
  return `${head}: the ciphertext is damaged (${why}): set it again with \`berth secret set ${app} ${secret}\``;
}
