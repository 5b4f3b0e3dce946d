// berth up's identity check (cli/up/identity.ts) on real files and real age identities: which file
// the agent is given, what stops berth up, and the notices with their fixes.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UserError } from "../../cli/errors.js";
import { newIdentity } from "../../cli/secrets/age.js";
import { upIdentity } from "../../cli/up/identity.js";
import { identityFileText } from "../../core/secrets/identity.js";
import { useTempRepos } from "../helpers/git-repo.js";

describe("berth up: the node identity it gives its agent", () => {
  const temp = useTempRepos();
  const base = { node: "local", nodeFile: "nodes/local.yaml", repoHasSecrets: false };
  const write = async (file: string, mode = 0o600) => {
    const id = await newIdentity();
    writeFileSync(file, identityFileText(id.identity, id.recipient, new Date()), { mode });
    return id.recipient;
  };

  it("defaults to <state-dir>/identity; silent when there is none and nothing needs one", async () => {
    const stateDir = temp.makeTempDir();
    expect(await upIdentity({ ...base, stateDir })).toEqual({
      file: join(stateDir, "identity"),
      notices: [],
    });
  });

  it("says how to make one when the repo has secrets and the node no identity", async () => {
    const stateDir = temp.makeTempDir();
    const r = await upIdentity({ ...base, stateDir, repoHasSecrets: true });
    expect(r.notices).toEqual([
      `node local has no age identity: to run apps with secrets, run \`berth node identity local --identity-file ${join(stateDir, "identity")}\`, then \`berth secret rekey\` and commit nodes/local.yaml and secrets/ (berth up reads the file when it needs it)`,
    ]);
  });

  it("takes a file that holds the node's identity without a word; tells a mismatch, a missing recipient and a loose mode", async () => {
    const dir = temp.makeTempDir();
    const file = join(dir, "id");
    const recipient = await write(file);
    expect(await upIdentity({ ...base, stateDir: dir, flag: file, recipient })).toEqual({
      file,
      notices: [],
    });

    const other = await newIdentity();
    const mismatch = await upIdentity({ ...base, stateDir: dir, flag: file, recipient: other.recipient });
    expect(mismatch.notices).toEqual([
      `the identity in ${file} is not node local's (nodes/local.yaml has recipient ${other.recipient}): secrets encrypted to the node cannot be decrypted here; pass the node's identity with --identity-file, or set recipient to ${recipient} and run \`berth secret rekey\``,
    ]);

    const none = await upIdentity({ ...base, stateDir: dir, flag: file });
    expect(none.notices).toEqual([
      `nodes/local.yaml has no recipient, so no secret is encrypted to node local: add \`recipient: ${recipient}\` (the identity in ${file}), run \`berth secret rekey\` and commit`,
    ]);

    const loose = join(dir, "loose");
    const r2 = await write(loose, 0o644);
    const l = await upIdentity({ ...base, stateDir: dir, flag: loose, recipient: r2 });
    expect(l.notices).toEqual([
      `the age identity file ${loose} may be read by others (mode 644): chmod 600 it`,
    ]);
  });

  it("stops berth up for a named file that is missing or not an identity, without quoting it", async () => {
    const dir = temp.makeTempDir();
    const missing = join(dir, "nope");
    await expect(upIdentity({ ...base, stateDir: dir, flag: missing })).rejects.toThrow(
      `--identity-file ${missing}: no such file`,
    );
    const bad = join(dir, "bad");
    writeFileSync(bad, "AGE-SECRET-KEY-1-not-a-key-but-maybe-a-secret\n", { mode: 0o600 });
    const err = await upIdentity({ ...base, stateDir: dir, flag: bad }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toContain(
      `the age identity file ${bad} has a line that is not an X25519 identity`,
    );
    expect((err as Error).message).not.toContain("not-a-key-but-maybe-a-secret");
    // The default file, when broken, stops it too (with the way to make a new one).
    writeFileSync(join(dir, "identity"), "garbage\n", { mode: 0o600 });
    const def = await upIdentity({ ...base, stateDir: dir }).catch((e: unknown) => e);
    expect((def as UserError).hint).toBe(
      `remove it and run berth node identity local --identity-file ${join(dir, "identity")}`,
    );
  });
});
