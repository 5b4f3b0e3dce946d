// The age operations of the secret commands, through the age-encryption library (loaded only when
// a secret command runs): make an identity, encrypt a value to recipients (header stanzas in the
// order given), decrypt with an operator's identities. Errors say what to do, never a value.
import { UserError } from "../errors.js";

type Age = typeof import("age-encryption");
let age: Age | undefined;
const lib = async (): Promise<Age> => {
  age ??= await import("age-encryption");
  return age;
};

export async function newIdentity(): Promise<{ identity: string; recipient: string }> {
  const a = await lib();
  const identity = await a.generateX25519Identity();
  return { identity, recipient: await a.identityToRecipient(identity) };
}

/** The recipients of identities (to tell which recipients an operator's file can decrypt). */
export async function recipientsOf(identities: readonly string[]): Promise<string[]> {
  const a = await lib();
  return Promise.all(identities.map((i) => a.identityToRecipient(i)));
}

export async function encrypt(recipients: readonly string[], value: string): Promise<string> {
  const a = await lib();
  const e = new a.Encrypter();
  for (const r of recipients) e.addRecipient(r);
  return a.armor.encode(await e.encrypt(value));
}

/** Decrypts `ciphertext` (armored); `what` names it in errors (`secret DB_PASSWORD of app api`). */
export async function decrypt(
  identities: readonly string[],
  ciphertext: string,
  what: string,
  identityFile: string,
): Promise<string> {
  const a = await lib();
  const d = new a.Decrypter();
  for (const i of identities) d.addIdentity(i);
  try {
    return await d.decrypt(a.armor.decode(ciphertext), "text");
  } catch (e) {
    const why = (e as Error).message;
    if (/no identity matched/i.test(why))
      throw new UserError(
        `cannot decrypt ${what}: it is not encrypted to the identity in ${identityFile}`,
        "an operator it was encrypted to can run berth secret rekey; otherwise set it again with berth secret set",
      );
    throw new UserError(
      `cannot decrypt ${what}: the ciphertext is damaged (${why})`,
      "set it again with berth secret set",
    );
  }
}
