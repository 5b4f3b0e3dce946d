// `berth node add NAME --address A [--role proxy] [--runtime R] [--label k=v]… [--token-file F]`:
// writes nodes/NAME.yaml holding only the SHA-256 of a new agent token and prints the token once
// (or writes it to --token-file with mode 0600). Never overwrites a node file, never stores the
// token in the repo. Does not commit: the user reviews and commits the file.
import { existsSync } from "node:fs";
import { mkdir, open, readdir, readFile, rm } from "node:fs/promises";
import { join, relative } from "node:path";
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
export function buildNodeDocument(input: NodeAddInput, tokenSha256: string): Node {
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
  return `# yaml-language-server: $schema=${schemaRef}\n# The agent's token is not stored here, only its SHA-256 (berth node add printed the token once).\n${stringify(doc)}`;
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
}

export async function addNode(repo: string, input: NodeAddInput, tokenFile?: string): Promise<NodeAddResult> {
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
  const doc = buildNodeDocument(input, tokenSha256);
  const text = renderNodeFile(doc, await schemaRefFor(repo));
  if (tokenFile) {
    try {
      await writeNew(tokenFile, `${token}\n`, 0o600);
    } catch (err) {
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
    throw new UserError(`cannot write ${shown}: ${(err as Error).message}`);
  }
  return { file, token, tokenSha256, ...(tokenFile ? { tokenFile } : {}) };
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
    .action(
      async (
        name: string,
        opts: { address: string; role?: string[]; runtime?: string; label?: string[]; tokenFile?: string },
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
        );
        const file = relative(g.repo, result.file);
        if (g.json) {
          const out = {
            node: name,
            file,
            tokenSha256: result.tokenSha256,
            ...(result.tokenFile ? { tokenFile: result.tokenFile } : { token: result.token }),
          };
          process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
          return;
        }
        const paint = painter(g.color);
        const lines = [`${paint("green", "Created")} ${file} (it holds only the token's SHA-256).`, ""];
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
        lines.push(
          "",
          "Next steps:",
          `  1. Commit the node file:  git -C ${g.repo} add ${file} && git -C ${g.repo} commit -m "Add node ${name}"`,
          `  2. On ${name}, store the token in a file only root can read, e.g. /etc/berth/agent.token (mode 0600).`,
          `  3. Run the agent there:  berth agent --node ${name} --url https://<reconciler> --token-file /etc/berth/agent.token`,
          "     (examples/systemd/berth-agent.service runs it as a service).",
        );
        process.stdout.write(`${lines.join("\n")}\n`);
      },
    );
}
