// `berth init [DIR]`: starts a new config repo from examples/single-host: copies it, points each
// file's `# yaml-language-server: $schema=` line at the schemas it writes under .berth/schema
// (a dot-folder, so not read as config), associates every config folder with its schema for the
// editor (.vscode/settings.json `yaml.schemas`, read by the YAML extension, i.e. yaml-language-
// server), so a new file validates without the comment line, runs `git init -b main`, makes the
// first commit and prints next steps. Refuses a directory that already holds config. A thin I/O
// shell.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { isConfigPath } from "../../core/config/index.js";
import { schemas } from "../../schema/index.js";
import { painter, readGlobals } from "../context.js";
import { UserError } from "../errors.js";

const SCHEMA_DIR = ".berth/schema";
const SCHEMA_LINE = /^# yaml-language-server: \$schema=(\S+)$/m;

export function register(program: Command): void {
  program
    .command("init")
    .description("start a new config repo from the single-host example (git init, first commit)")
    .argument("[dir]", "directory of the new repo (default: current directory)")
    .action((dir: string | undefined, _opts: unknown, cmd: Command) => {
      const g = readGlobals(cmd);
      const target = resolve(dir ?? g.repo);
      const written = initRepo(target);
      if (g.json) {
        process.stdout.write(
          `${JSON.stringify({ repo: target, commit: written.commit, files: written.files })}\n`,
        );
        return;
      }
      const p = painter(g.color);
      const shown = dir ?? ".";
      process.stdout.write(
        [
          `${p("green", "✓")} New berth config repo in ${target} (branch main, first commit ${written.commit.slice(0, 7)})`,
          ...written.files.filter((f) => !f.startsWith(".")).map((f) => `    ${f}`),
          "",
          p("bold", "Next steps:"),
          ...(shown === "." ? [] : [`  cd ${shown}`]),
          "  berth validate        check the config (every problem as FILE:LINE:COL)",
          "  berth plan            see what would run where",
          "  berth up              run it on this machine: reconciler and a local agent",
          "  curl http://hello.localhost:<port>/   once it is up (berth up prints the address)",
          "Then edit apps/*.yaml, commit, and berth applies each commit.",
          "",
        ].join("\n"),
      );
    });
}

/** Creates the repo in `dir`; returns the repo-relative files written and the first commit. */
export function initRepo(dir: string): { files: string[]; commit: string } {
  const example = exampleDir();
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory())
      throw new UserError(`${dir} exists and is not a directory`, "pick a new directory");
    const existing = listFiles(dir).find(isConfigPath);
    if (existing) {
      throw new UserError(
        `${dir} already has config (${existing}): berth init only starts new repos`,
        "run it in an empty directory, or edit the existing config",
      );
    }
  }
  const files = listFiles(example).sort();
  for (const f of files) {
    if (existsSync(join(dir, f)))
      throw new UserError(`${join(dir, f)} already exists`, "run berth init in an empty directory");
  }
  for (const f of files) {
    const target = join(dir, f);
    mkdirSync(dirname(target), { recursive: true });
    const content = readFileSync(join(example, f));
    writeFileSync(target, /\.ya?ml$/.test(f) ? pointAtLocalSchema(content.toString("utf8"), f) : content);
  }
  const schemaFiles: string[] = [];
  mkdirSync(join(dir, SCHEMA_DIR), { recursive: true });
  for (const [name, schema] of Object.entries(schemas)) {
    const f = `${SCHEMA_DIR}/${name}`;
    // Without $id, a schema's "common.schema.json#/…" references resolve next to the file itself,
    // so the editor needs no network.
    const { $id: _id, ...local } = schema as Record<string, unknown>;
    writeFileSync(join(dir, f), `${JSON.stringify(local, null, 2)}\n`);
    schemaFiles.push(f);
  }
  const editor = ".vscode/settings.json";
  if (!existsSync(join(dir, editor))) {
    mkdirSync(join(dir, ".vscode"), { recursive: true });
    writeFileSync(join(dir, editor), `${JSON.stringify(editorSettings(), null, 2)}\n`);
    schemaFiles.push(editor);
  }
  const all = [...files, ...schemaFiles];
  return { files: all, commit: commitAll(dir, all) };
}

/** Which files each kind's schema validates in the editor: berth's folders, and berth.yaml. */
export const editorAssociations: Record<string, string[]> = {
  "app.schema.json": ["apps/**/*.yaml", "apps/**/*.yml"],
  "node.schema.json": ["nodes/**/*.yaml", "nodes/**/*.yml"],
  "domain.schema.json": ["domains/**/*.yaml", "domains/**/*.yml"],
  "settings.schema.json": ["berth.yaml", "berth.yml"],
};

/** VS Code workspace settings: yaml.schemas maps each schema (relative to the repo) to its files. */
export function editorSettings(): Record<string, unknown> {
  const map: Record<string, string[]> = {};
  for (const [schema, globs] of Object.entries(editorAssociations)) map[`./${SCHEMA_DIR}/${schema}`] = globs;
  return { "yaml.schemas": map };
}

/** Rewrites the schema line of a YAML file at repo path `file` to .berth/schema/<same file name>. */
export function pointAtLocalSchema(text: string, file: string): string {
  return text.replace(SCHEMA_LINE, (_line, path: string) => {
    const rel = relative(dirname(`/${file}`), `/${SCHEMA_DIR}/${basename(path)}`);
    return `# yaml-language-server: $schema=${rel}`;
  });
}

function commitAll(dir: string, files: string[]): string {
  const git = (...args: string[]) =>
    execFileSync("git", args, { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
  try {
    if (!existsSync(join(dir, ".git"))) git("init", "-q", "-b", "main");
    git("add", "--", ...files);
    // Without a configured identity git refuses to commit; say who made it rather than fail.
    const identity = hasIdentity(git)
      ? []
      : ["-c", "user.name=berth init", "-c", "user.email=berth@localhost"];
    git(...identity, "commit", "-q", "-m", "Initial berth config (berth init)", "--", ...files);
    return git("rev-parse", "HEAD");
  } catch (err) {
    const e = err as { stderr?: string; message: string; code?: string };
    if (e.code === "ENOENT")
      throw new UserError("git is not installed", "install git, then run berth init again");
    throw new UserError(`git failed in ${dir}: ${e.stderr?.trim() || e.message}`);
  }
}

function hasIdentity(git: (...args: string[]) => string): boolean {
  try {
    return git("config", "user.email") !== "" && git("config", "user.name") !== "";
  } catch {
    return false;
  }
}

/** Repo-relative paths of the files under `dir`, without .git. */
function listFiles(dir: string, at = ""): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(dir, at), { withFileTypes: true })) {
    const rel = at === "" ? e.name : `${at}/${e.name}`;
    if (e.name === ".git" || e.name === "node_modules") continue;
    if (e.isDirectory()) out.push(...listFiles(dir, rel));
    else if (e.isFile()) out.push(rel);
  }
  return out;
}

/** examples/single-host of the installed package: found upwards from this file (src or dist). */
function exampleDir(): string {
  let at = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(at, "examples", "single-host");
    if (existsSync(join(at, "package.json")) && existsSync(candidate)) return candidate;
    const up = dirname(at);
    if (up === at) throw new Error("examples/single-host is missing from the berth package (this is a bug)");
    at = up;
  }
}
