// `berth secret set|ls|get|rm|rekey|keygen`: encrypted secrets of apps, kept in secrets/<app>.yaml
// as age ciphertext encrypted to the operators of berth.yaml and to the nodes that may run the
// app. Values come from stdin or a file, never from the command line, and are printed only by
// `get`, to its own stdout. Nothing here commits: the user reviews and commits the file.
import { mkdirSync } from "node:fs";
import { open } from "node:fs/promises";
import { dirname } from "node:path";
import type { Command } from "commander";
import { painter, readGlobals } from "../context.js";
import { UserError } from "../errors.js";

interface IdentityFlag {
  identity?: string;
}

const NO_ARGV_VALUE =
  "berth secret set never takes a value on the command line: ps and the shell history would show it";
const HOW =
  'pipe it in (printf %s "$VALUE" | berth secret set APP KEY), use --from-file FILE, or type it at the prompt';

export function register(program: Command): void {
  const secret = program
    .command("secret")
    .description("encrypted secrets of apps (secrets/<app>.yaml): set, ls, get, rm, rekey, keygen");

  secret
    .command("set <app> <key> [value...]")
    .description("encrypt a value (from stdin or --from-file) to the operators and the app's nodes")
    .option("--from-file <file>", "read the value from this file")
    .option("--keep-newline", "keep a final line break of the value (dropped by default)")
    .option("--value <value>", "refused: values never go on the command line")
    .action(
      async (
        app: string,
        key: string,
        extra: string[],
        opts: { fromFile?: string; keepNewline?: boolean; value?: string },
        cmd: Command,
      ) => {
        // Refused before anything is read or written, and the value is not repeated.
        if (extra.length > 0 || opts.value !== undefined) throw new UserError(NO_ARGV_VALUE, HOW);
        const g = readGlobals(cmd);
        const { checkName, setSecret } = await import("../secrets/operations.js");
        const { loadConfig } = await import("../secrets/repo.js");
        const { readValue } = await import("../secrets/input.js");
        checkName(key);
        const config = await loadConfig(g.repo);
        const value = await readValue(opts, `Value of secret ${key} of app ${app} (not shown): `);
        const r = await setSecret(g.repo, config, app, key, value);
        const { recipientLabels } = await import("../../core/secrets/recipients.js");
        const labels = recipientLabels(config);
        const who = r.recipients.map((x) => labels.get(x) ?? x);
        if (g.json) {
          process.stdout.write(
            `${JSON.stringify({ app, secret: key, file: r.file, recipients: who, withoutIdentity: r.withoutIdentity, used: r.used }, null, 2)}\n`,
          );
          return;
        }
        const paint = painter(g.color);
        const lines = [
          `${paint("green", r.replaced ? "Changed" : "Set")} secret ${key} of app ${app} in ${r.file}, encrypted to ${who.join(", ")}.`,
        ];
        if (r.withoutIdentity.length > 0)
          lines.push(
            paint(
              "yellow",
              `Node${r.withoutIdentity.length === 1 ? "" : "s"} ${r.withoutIdentity.join(", ")} may run ${app} but ${r.withoutIdentity.length === 1 ? "has" : "have"} no age identity and cannot read it: berth node identity NODE, then berth secret rekey ${app}.`,
            ),
          );
        if (!r.used)
          lines.push(
            `Use it in the app's env:  ${key}: { secret: ${key} }  (under env: in the file of app ${app})`,
          );
        lines.push(
          `Review and commit ${r.file}${r.used ? "" : " with the env change"}; the plan shows it as a changed secret, never its value.`,
        );
        process.stdout.write(`${lines.join("\n")}\n`);
      },
    );

  secret
    .command("ls [app]")
    .description("list secrets: names, recipients, when set, and which nodes cannot read them (no values)")
    .action(async (app: string | undefined, _opts: unknown, cmd: Command) => {
      const g = readGlobals(cmd);
      const { listSecrets } = await import("../secrets/operations.js");
      const { appOf, loadConfig } = await import("../secrets/repo.js");
      const config = await loadConfig(g.repo);
      if (app) await appOf(config, app);
      const rows = listSecrets(config, app);
      if (g.json) {
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      if (rows.length === 0) {
        process.stdout.write(`No secrets${app ? ` for app ${app}` : ""}.\n`);
        return;
      }
      const paint = painter(g.color);
      const out: string[] = [];
      for (const r of rows) {
        const state =
          r.unreadableBy.length > 0
            ? paint("yellow", `cannot be read by ${r.unreadableBy.join(", ")}: berth secret rekey ${r.app}`)
            : r.stale.length > 0
              ? paint("yellow", `still readable by ${r.stale.join(", ")}: berth secret rekey ${r.app}`)
              : paint("green", "recipients up to date");
        out.push(
          `${paint("bold", `${r.app}/${r.secret}`)}  set ${r.updated ?? "(unknown)"}${r.used ? "" : paint("yellow", "  (not used by the app's env)")}`,
          `    recipients: ${r.recipients.join(", ")}`,
          `    ${state}`,
        );
      }
      process.stdout.write(`${out.join("\n")}\n`);
    });

  secret
    .command("get <app> <key>")
    .description("decrypt a secret with your operator identity and print it on stdout")
    .option("--identity <file>", "your age identity (default $BERTH_IDENTITY, else ~/.config/berth/identity)")
    .action(async (app: string, key: string, opts: IdentityFlag, cmd: Command) => {
      const g = readGlobals(cmd);
      const { identityPath, readOperatorIdentities } = await import("../secrets/input.js");
      const { loadConfig, appOf, secretsFileOf } = await import("../secrets/repo.js");
      const { decrypt } = await import("../secrets/age.js");
      const config = await loadConfig(g.repo);
      await appOf(config, app);
      const f = await secretsFileOf(g.repo, config, app);
      const v = f.spec.secrets[key];
      if (!v)
        throw new UserError(
          `app ${app} has no secret ${key}`,
          `its secrets: ${Object.keys(f.spec.secrets).join(", ") || "none"}`,
        );
      const file = identityPath(opts.identity);
      const keys = await readOperatorIdentities(file);
      process.stdout.write(await decrypt(keys, v.ciphertext, `secret ${key} of app ${app}`, file));
    });

  secret
    .command("rm <app> [keys...]")
    .description("remove secrets of an app (--all: every one, and its file)")
    .option("--all", "remove every secret of the app")
    .action(async (app: string, keys: string[], opts: { all?: boolean }, cmd: Command) => {
      const g = readGlobals(cmd);
      if (!opts.all && keys.length === 0) throw new UserError("name the secrets to remove, or pass --all");
      const { removeSecrets } = await import("../secrets/operations.js");
      const { loadConfig } = await import("../secrets/repo.js");
      const config = await loadConfig(g.repo);
      const r = await removeSecrets(g.repo, config, app, opts.all ? "all" : keys);
      const lines = [
        `Removed secret${r.removed.length === 1 ? "" : "s"} ${r.removed.join(", ")} of app ${app} (${r.how === "removed" ? `${r.file} deleted` : r.file}).`,
      ];
      if (r.stillUsed.length > 0)
        lines.push(
          `The app's env still takes ${r.stillUsed.join(", ")} from ${r.removed.length === 1 ? "it" : "them"}: remove those entries too, or validation refuses the commit.`,
        );
      process.stdout.write(`${lines.join("\n")}\n`);
    });

  secret
    .command("rekey [apps...]")
    .description(
      "re-encrypt secrets to the operators and nodes that should read them now (after node or operator changes)",
    )
    .option("--identity <file>", "your age identity (default $BERTH_IDENTITY, else ~/.config/berth/identity)")
    .option("--dry-run", "show what would change; decrypt and write nothing")
    .action(async (apps: string[], opts: IdentityFlag & { dryRun?: boolean }, cmd: Command) => {
      const g = readGlobals(cmd);
      const { rekey } = await import("../secrets/operations.js");
      const { loadConfig } = await import("../secrets/repo.js");
      const { identityPath, readOperatorIdentities } = await import("../secrets/input.js");
      const config = await loadConfig(g.repo);
      let identity: { keys: string[]; file: string } | null = null;
      if (!opts.dryRun) {
        const file = identityPath(opts.identity);
        identity = { keys: await readOperatorIdentities(file), file };
      }
      const r = await rekey(g.repo, config, apps.length > 0 ? apps : undefined, identity);
      const name = (x: string) => r.labels.get(x) ?? `unknown ${x.slice(0, 12)}…`;
      if (g.json) {
        const items = r.items.map((i) => ({
          app: i.app,
          secret: i.secret,
          file: i.file,
          add: i.add.map(name),
          remove: i.remove.map(name),
        }));
        process.stdout.write(`${JSON.stringify({ dryRun: !!opts.dryRun, items }, null, 2)}\n`);
        return;
      }
      const paint = painter(g.color);
      if (r.items.length === 0) {
        process.stdout.write(
          "Every secret is encrypted to the recipients it should have: nothing to rekey.\n",
        );
        return;
      }
      const out = r.items.map((i) => {
        const parts = [
          ...i.add.map((x) => paint("green", `+ ${name(x)}`)),
          ...i.remove.map((x) => paint("red", `- ${name(x)}`)),
        ];
        return `  ~ ${i.app}/${i.secret}  ${parts.join("  ")}`;
      });
      const files = [...new Set(r.items.map((i) => i.file))];
      out.unshift(opts.dryRun ? "Would re-encrypt (values unchanged):" : "Re-encrypted (values unchanged):");
      out.push(
        opts.dryRun
          ? `Run without --dry-run to write ${files.join(", ")}.`
          : `Review and commit ${files.join(", ")}. A recipient removed here could read the old ciphertext: set a new value if it must lose access.`,
      );
      process.stdout.write(`${out.join("\n")}\n`);
    });

  secret
    .command("keygen")
    .description("make an operator identity (age X25519) and print the lines to add to berth.yaml")
    .option(
      "-o, --output <file>",
      "where to write it (default $BERTH_IDENTITY, else ~/.config/berth/identity)",
    )
    .option("--name <name>", "your name in berth.yaml's operators", process.env.USER ?? "me")
    .action(async (opts: { output?: string; name: string }, cmd: Command) => {
      const g = readGlobals(cmd);
      const { identityPath } = await import("../secrets/input.js");
      const { newIdentity } = await import("../secrets/age.js");
      const { identityFileText } = await import("../../core/secrets/identity.js");
      const file = identityPath(opts.output);
      const id = await newIdentity();
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      try {
        const h = await open(file, "wx", 0o600);
        await h.writeFile(identityFileText(id.identity, id.recipient, new Date()));
        await h.close();
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "EEXIST")
          throw new UserError(
            `${file} already exists; berth never overwrites an identity`,
            "pass -o FILE for another one",
          );
        throw e;
      }
      if (g.json) {
        process.stdout.write(`${JSON.stringify({ file, recipient: id.recipient }, null, 2)}\n`);
        return;
      }
      process.stdout.write(
        [
          `Wrote your identity to ${file} (mode 0600). Keep it safe: it decrypts every secret encrypted to you.`,
          "Add yourself to berth.yaml, then run berth secret rekey so existing secrets include you:",
          "",
          "operators:",
          `  - name: ${opts.name}`,
          `    recipient: ${id.recipient}`,
          "",
        ].join("\n"),
      );
    });
}
