// The node identity of `berth up` (docs/secrets.md): the agent it runs decrypts the secrets of the
// node's apps with the age identity in --identity-file, else in <state-dir>/identity, which
// `berth node identity NODE --identity-file <state-dir>/identity` writes. The agent reads the file
// when an instance with secrets starts (not before), so an identity added while berth up runs is
// used without a restart. What can be checked at start is checked here and said in words: a named
// file that cannot be read stops berth up; a missing default file or an identity that is not the
// node's committed recipient is a notice (the apps without secrets still run; each app with
// secrets then reports the decryption error itself and keeps its old version serving).
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { IdentityError, readIdentityFile } from "../../agent/secrets/identity.js";
import { UserError } from "../errors.js";

export interface UpIdentityInput {
  stateDir: string;
  /** --identity-file, when given. */
  flag?: string;
  node: string;
  /** The node's file in the repo (nodes/<node>.yaml), to name in notices. */
  nodeFile: string;
  /** The recipient committed in the node's file, if any. */
  recipient?: string;
  /** Whether the repo has encrypted secrets at all (quiet about identities when it has none). */
  repoHasSecrets: boolean;
}

export interface UpIdentity {
  /** The file the agent reads its identity from (it may not exist yet). */
  file: string;
  notices: string[];
}

export async function upIdentity(input: UpIdentityInput): Promise<UpIdentity> {
  const file = input.flag ?? join(input.stateDir, "identity");
  const { node, nodeFile, recipient } = input;
  const exists = await stat(file).then(
    () => true,
    (e: NodeJS.ErrnoException) => e.code !== "ENOENT",
  );
  if (!exists) {
    if (input.flag)
      throw new UserError(
        `--identity-file ${file}: no such file`,
        `give the file berth node add --identity-file or berth node identity ${node} --identity-file wrote`,
      );
    if (recipient)
      return {
        file,
        notices: [
          `node ${node} has an age recipient in ${nodeFile} but its identity is not in ${file}: apps with secrets cannot start here until it is (save the node's identity there, mode 0600, or pass --identity-file)`,
        ],
      };
    return {
      file,
      notices: input.repoHasSecrets
        ? [
            `node ${node} has no age identity: to run apps with secrets, run \`berth node identity ${node} --identity-file ${file}\`, then \`berth secret rekey\` and commit ${nodeFile} and secrets/ (berth up reads the file when it needs it)`,
          ]
        : [],
    };
  }
  let keys: string[];
  const notices: string[] = [];
  try {
    const read = await readIdentityFile(file);
    keys = read.keys;
    if (read.looseMode !== undefined)
      notices.push(
        `the age identity file ${file} may be read by others (mode ${read.looseMode.toString(8)}): chmod 600 it`,
      );
  } catch (e) {
    if (!(e instanceof IdentityError)) throw e;
    throw new UserError(
      e.message,
      input.flag
        ? "pass the file berth node add --identity-file or berth node identity wrote"
        : `remove it and run berth node identity ${node} --identity-file ${file}`,
    );
  }
  const { recipientsOf } = await import("../secrets/age.js");
  const mine = await recipientsOf(keys);
  if (!recipient)
    notices.push(
      `${nodeFile} has no recipient, so no secret is encrypted to node ${node}: add \`recipient: ${mine[mine.length - 1]}\` (the identity in ${file}), run \`berth secret rekey\` and commit`,
    );
  else if (!mine.includes(recipient))
    notices.push(
      `the identity in ${file} is not node ${node}'s (${nodeFile} has recipient ${recipient}): secrets encrypted to the node cannot be decrypted here; pass the node's identity with --identity-file, or set recipient to ${mine[mine.length - 1]} and run \`berth secret rekey\``,
    );
  return { file, notices };
}
