// `berth node add NAME --address A [--role proxy] [--runtime R] [--label k=v]… [--token-file F]
// [--identity-file F]`: writes nodes/NAME.yaml holding only the SHA-256 of a new agent token and
// the recipient of a new age identity, and prints the token and the identity once (or writes them
// to --token-file / --identity-file with mode 0600). `berth node identity NAME` gives an existing
// node a new identity (first one, or a rotation). Never overwrites a node file, never stores a
// token or an identity in the repo. Does not commit: the user reviews and commits the file.
import { existsSync } from "node:fs";
import { mkdir, open, readdir, readFile, rm } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import type { Command } from "commander";
import { stringify } from "yaml";
import { generateToken, sha256Hex } from "../../reconciler/auth.js";
import { configValidator, type Node } from "../../schema/index.js";
import { painter, readGlobals } from "../context.js";
import { UserError } from "../errors.js";

export interface NodeAddInput {
  name: string;
  address: string;
  roles: string[];
  runtime?: string;
  labels: string[];
}

const schemaLine = /^# yaml-language-server: \$schema=(\S+)/;

/** The node document, checked against node.schema.json; throws a UserError naming every problem. */
export function buildNodeDocument(input: NodeAddInput, tokenSha256: string, recipient?: string): Node {
  const labels: Record<string, string> = {};
  for (const pair of input.labels) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new UserError(`--label ${pair}: expected KEY=VALUE`, "e.g. --label zone=eu-1");
    labels[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const roles = [
    ...new Set(
      input.roles
        .flatMap((r) => r.split(","))
        .map((r) => r.trim())
        .filter(Boolean),
    ),
  ];
  const doc: Record<string, unknown> = { kind: "Node", name: input.name, address: input.address };
  if (roles.length > 0) doc.roles = roles;
  if (input.runtime) doc.runtime = input.runtime;
  if (Object.keys(labels).length > 0) doc.labels = labels;
  doc.tokenSha256 = tokenSha256;
  if (recipient) doc.recipient = recipient;
  // Validate a copy: the validator fills defaults, and the file should hold only what was asked.
  const validate = configValidator("Node");
  if (!validate(structuredClone(doc))) {
    const problems = (validate.errors ?? []).map((e) => `${e.instancePath || "node"} ${e.message}`);
    throw new UserError(
      `cannot add node ${input.name}: ${problems.join("; ")}`,
      "names are DNS labels (a-z, 0-9, -), roles are worker and/or proxy, runtimes podman, docker or process",
    );
  }
  return doc as unknown as Node;
}

/** The `$schema` reference for a new node file: what the repo's other node files use, else a sensible default. */
export async function schemaRefFor(repo: string): Promise<string> {
  const dir = join(repo, "nodes");
  const files = existsSync(dir) ? (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort() : [];
  for (const f of files) {
    const first = (await readFile(join(dir, f), "utf8")).split("\n", 1)[0] ?? "";
    const m = schemaLine.exec(first);
    if (m?.[1]) return m[1];
  }
  if (existsSync(join(repo, ".berth/schema/node.schema.json"))) return "../.berth/schema/node.schema.json";
  if (existsSync(join(repo, "schema/node.schema.json"))) return "../schema/node.schema.json";
  return "https://berth.sh/schema/node.schema.json";
}

export function renderNodeFile(doc: Node, schemaRef: string): string {
  return `# yaml-language-server: $schema=${schemaRef}\n# The agent's token is not stored here, only its SHA-256 (berth node add printed the token once);\n# recipient is the public half of the node's age identity, whose private key stays on the node.\n${stringify(doc)}`;
}

/** Creates `path` with `content` only if it does not exist yet. */
async function writeNew(path: string, content: string, mode: number): Promise<void> {
  const handle = await open(path, "wx", mode);
  try {
    await handle.writeFile(content);
  } finally {
    await handle.close();
  }
}

export interface NodeAddResult {
  file: string;
  token: string;
  tokenSha256: string;
  tokenFile?: string;
  identity: string;
  recipient: string;
  identityFile?: string;
}

/** Writes a node's private identity to a new 0600 file; a UserError when it cannot. */
async function writeIdentity(file: string, identity: string, recipient: string): Promise<void> {
  const { identityFileText } = await import("../../core/secrets/identity.js");
  try {
    // Its folder may not exist yet (berth up's state dir before the first berth up): only the
    // owner may enter a folder made for a private key.
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    await writeNew(file, identityFileText(identity, recipient, new Date()), 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(
      `cannot write the identity to ${file}: ${code === "EEXIST" ? "the file already exists" : (err as Error).message}`,
      "choose a new path for --identity-file",
    );
  }
}

export async function addNode(
  repo: string,
  input: NodeAddInput,
  tokenFile?: string,
  identityFile?: string,
): Promise<NodeAddResult> {
  if (!existsSync(repo)) throw new UserError(`config repo ${repo} does not exist`, "pass --repo PATH");
  const file = join(repo, "nodes", `${input.name}.yaml`);
  const shown = relative(repo, file);
  if (existsSync(file) || existsSync(file.replace(/\.yaml$/, ".yml"))) {
    throw new UserError(
      `${shown} already exists; berth node add never overwrites a node file`,
      "to give an existing node a new token, delete its file first or edit tokenSha256 by hand",
    );
  }
  const token = generateToken();
  const tokenSha256 = sha256Hex(token);
  const { newIdentity } = await import("../secrets/age.js");
  const { identity, recipient } = await newIdentity();
  const doc = buildNodeDocument(input, tokenSha256, recipient);
  const text = renderNodeFile(doc, await schemaRefFor(repo));
  if (identityFile) await writeIdentity(identityFile, identity, recipient);
  if (tokenFile) {
    try {
      await writeNew(tokenFile, `${token}\n`, 0o600);
    } catch (err) {
      if (identityFile) await rm(identityFile, { force: true });
      const code = (err as NodeJS.ErrnoException).code;
      throw new UserError(
        `cannot write the token to ${tokenFile}: ${code === "EEXIST" ? "the file already exists" : (err as Error).message}`,
        "choose a new path for --token-file",
      );
    }
  }
  try {
    await mkdir(join(repo, "nodes"), { recursive: true });
    await writeNew(file, text, 0o644);
  } catch (err) {
    if (tokenFile) await rm(tokenFile, { force: true });
    if (identityFile) await rm(identityFile, { force: true });
    throw new UserError(`cannot write ${shown}: ${(err as Error).message}`);
  }
  return {
    file,
    token,
    tokenSha256,
    identity,
    recipient,
    ...(tokenFile ? { tokenFile } : {}),
    ...(identityFile ? { identityFile } : {}),
  };
}

export interface NodeIdentityResult {
  file: string;
  identity: string;
  recipient: string;
  previous?: string;
  identityFile?: string;
}

/**
 * A new age identity for an existing node: its recipient goes into the node's document (the rest
 * of the file, comments included, stays as it is), the private key to `identityFile` or the caller.
 */
export async function newNodeIdentity(
  repo: string,
  name: string,
  identityFile?: string,
): Promise<NodeIdentityResult> {
  const { loadConfig } = await import("../secrets/repo.js");
  const config = await loadConfig(repo);
  const entry = config.nodes.find((e) => e.spec.name === name);
  if (!entry) {
    const { didYouMean } = await import("../../core/config/suggest.js");
    throw new UserError(
      `node ${JSON.stringify(name)} does not exist${didYouMean(
        name,
        config.nodes.map((e) => e.spec.name),
      )}`,
      "add a node with berth node add; berth validate lists problems that hide one",
    );
  }
  const path = join(repo, entry.origin.file);
  const { parseAllDocuments } = await import("yaml");
  const docs = parseAllDocuments(await readFile(path, "utf8"));
  const doc = docs[entry.origin.index];
  if (!doc || doc.errors.length > 0)
    throw new UserError(`cannot edit ${entry.origin.file}: it does not parse (berth validate says why)`);
  const { newIdentity } = await import("../secrets/age.js");
  const { identity, recipient } = await newIdentity();
  if (identityFile) await writeIdentity(identityFile, identity, recipient);
  doc.set("recipient", recipient);
  const tmp = `${path}.${process.pid}.tmp`;
  const { writeFile, rename } = await import("node:fs/promises");
  await writeFile(tmp, (docs as { toString(): string }[]).map((d) => d.toString()).join(""));
  await rename(tmp, path);
  return {
    file: path,
    identity,
    recipient,
    ...(entry.spec.recipient ? { previous: entry.spec.recipient } : {}),
    ...(identityFile ? { identityFile } : {}),
  };
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function register(program: Command): void {
  const node = program.command("node").description("manage nodes of the config repo");
  node
    .command("add <name>")
    .description("write nodes/NAME.yaml with a new agent token's SHA-256 and print the token once")
    .requiredOption("--address <address>", "host name or IP at which proxies reach this node's workloads")
    .option(
      "--role <role>",
      "worker or proxy (repeat or comma-separate for both; default worker)",
      collect,
      [],
    )
    .option("--runtime <runtime>", "podman, docker or process (default podman)")
    .option("--label <key=value>", "a label for placement (repeatable)", collect)
    .option("--token-file <file>", "write the token to this new file (mode 0600) instead of printing it")
    .option(
      "--identity-file <file>",
      "write the node's age identity to this new file (mode 0600) instead of printing it",
    )
    .action(
      async (
        name: string,
        opts: {
          address: string;
          role?: string[];
          runtime?: string;
          label?: string[];
          tokenFile?: string;
          identityFile?: string;
        },
        cmd: Command,
      ) => {
        const g = readGlobals(cmd);
        const result = await addNode(
          g.repo,
          {
            name,
            address: opts.address,
            roles: opts.role ?? [],
            runtime: opts.runtime,
            labels: opts.label ?? [],
          },
          opts.tokenFile,
          opts.identityFile,
        );
        const file = relative(g.repo, result.file);
        if (g.json) {
          const out = {
            node: name,
            file,
            tokenSha256: result.tokenSha256,
            ...(result.tokenFile ? { tokenFile: result.tokenFile } : { token: result.token }),
            recipient: result.recipient,
            ...(result.identityFile ? { identityFile: result.identityFile } : { identity: result.identity }),
          };
          process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
          return;
        }
        const paint = painter(g.color);
        const lines = [
          `${paint("green", "Created")} ${file} (it holds only the token's SHA-256 and the identity's public recipient).`,
          "",
        ];
        const roles = opts.role?.flatMap((r) => r.split(",")) ?? [];
        if (roles.length > 0 && !roles.includes("worker")) {
          lines.splice(
            1,
            0,
            `Roles: ${roles.join(", ")} only: this node runs no apps (add --role worker for both).`,
          );
        }
        if (result.tokenFile) {
          lines.push(
            `The agent token was written to ${result.tokenFile} (mode 0600); it is shown nowhere else.`,
          );
        } else {
          lines.push(
            `Agent token for ${name} — shown this once, keep it secret:`,
            "",
            `  ${paint("bold", result.token)}`,
          );
        }
        if (result.identityFile) {
          lines.push(
            `The node's age identity was written to ${result.identityFile} (mode 0600); it is shown nowhere else.`,
          );
        } else {
          lines.push(
            "",
            `Age identity for ${name} (decrypts the secrets of its apps) — shown this once, keep it secret:`,
            "",
            `  ${paint("bold", result.identity)}`,
          );
        }
        lines.push(
          "",
          "Next steps:",
          `  1. Commit the node file:  git -C ${g.repo} add ${file} && git -C ${g.repo} commit -m "Add node ${name}"`,
          `     If apps with secrets may run on ${name}, first run berth secret rekey and commit secrets/ too.`,
          `  2. On ${name}, store the token and the identity in files only root can read (mode 0600),`,
          "     e.g. /etc/berth/agent.token and /etc/berth/identity.",
          `  3. Run the agent there:  berth agent --node ${name} --url https://<reconciler> --token-file /etc/berth/agent.token --identity-file /etc/berth/identity`,
          "     (examples/systemd/berth-agent.service runs it as a service).",
        );
        process.stdout.write(`${lines.join("\n")}\n`);
      },
    );

  node
    .command("identity <name>")
    .description(
      "give an existing node a new age identity (its first, or a rotation); prints the private key once",
    )
    .option(
      "--identity-file <file>",
      "write the identity to this new file (mode 0600) instead of printing it",
    )
    .action(async (name: string, opts: { identityFile?: string }, cmd: Command) => {
      const g = readGlobals(cmd);
      const r = await newNodeIdentity(g.repo, name, opts.identityFile);
      const file = relative(g.repo, r.file);
      if (g.json) {
        const out = {
          node: name,
          file,
          recipient: r.recipient,
          ...(r.previous ? { previous: r.previous } : {}),
          ...(r.identityFile ? { identityFile: r.identityFile } : { identity: r.identity }),
        };
        process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
        return;
      }
      const paint = painter(g.color);
      const lines = [
        `${paint("green", "Updated")} ${file}: recipient ${r.recipient}${r.previous ? ` (was ${r.previous})` : ""}.`,
      ];
      if (r.identityFile)
        lines.push(`The identity was written to ${r.identityFile} (mode 0600); it is shown nowhere else.`);
      else
        lines.push(
          "",
          `Age identity for ${name} — shown this once, keep it secret:`,
          "",
          `  ${paint("bold", r.identity)}`,
        );
      lines.push(
        "",
        "Next steps (docs/secrets.md, rotating a node's identity):",
        `  1. On ${name}, add the new key as a line of the agent's --identity-file${r.previous ? ", keeping the old one for now" : ""}.`,
        "     The agent reads the file again when it changes: no restart.",
        "  2. berth secret rekey  (re-encrypts the secrets of the apps it may run), then commit the node file and secrets/.",
        ...(r.previous
          ? ["  3. Once the commit is applied, remove the old key line from the node's identity file."]
          : []),
      );
      process.stdout.write(`${lines.join("\n")}\n`);
    });
}
