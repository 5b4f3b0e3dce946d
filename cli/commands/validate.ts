// `berth validate [--ref REF] [--json]`: checks the config repo's working tree (or a commit) and
// prints every problem as FILE:LINE:COL: message, then a one-line summary. Exit 0 when valid, 1
// when not (warnings alone do not fail). Placement is checked too, so "valid" means the
// reconciler would publish it.
// The loader and placement are imported when the command runs, not when the CLI starts, so other
// commands do not pay for them.
import type { Command } from "commander";
import type { Diagnostic, LoadResult } from "../../core/config/index.js";
import { painter, readGlobals } from "../context.js";
import { FailedError, UserError } from "../errors.js";

interface Options {
  ref?: string;
}

export function register(program: Command): void {
  program
    .command("validate")
    .description("check the config repo: every problem as FILE:LINE:COL: message (exit 1 when invalid)")
    .option("--ref <ref>", "check this commit (branch, tag or commit id) instead of the working tree")
    .action(async (opts: Options, cmd: Command) => {
      const g = readGlobals(cmd);
      const { compareDiagnostics, diagnosticPlace, formatDiagnostic } = await import(
        "../../core/config/index.js"
      );
      const load = await loadRepo(g.repo, opts.ref);
      const errors = load.diagnostics.length > 0 ? load.diagnostics : await placementErrors(load);
      const warnings = load.warnings ?? [];
      const paint = painter(g.color);
      const all = [
        ...errors.map((d) => ({ d, severity: "error" as const })),
        ...warnings.map((d) => ({ d, severity: "warning" as const })),
      ].sort((a, b) => compareDiagnostics(a.d, b.d));

      if (g.json) {
        const list = all.map(({ d, severity }) =>
          severity === "warning" ? { ...d, message: `warning: ${d.message}` } : d,
        );
        process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
        process.stderr.write(`${summary(load, errors, warnings)}\n`);
      } else {
        for (const { d, severity } of all) {
          const line = formatDiagnostic(d, severity);
          const at = `${diagnosticPlace(d)}:`;
          const rest = line.slice(at.length);
          process.stdout.write(
            `${paint("bold", at)}${severity === "warning" ? paint("yellow", rest) : rest}\n`,
          );
        }
        const text = summary(load, errors, warnings);
        process.stdout.write(`${errors.length > 0 ? paint("red", text) : paint("green", text)}\n`);
      }
      if (errors.length > 0) throw new FailedError("");
    });
}

async function loadRepo(repo: string, ref: string | undefined): Promise<LoadResult> {
  const { loadCommit, loadWorktree, RepoError } = await import("../../reconciler/repo/load.js");
  try {
    return ref === undefined ? await loadWorktree(repo) : await loadCommit(repo, ref);
  } catch (err) {
    if (err instanceof RepoError) throw new UserError(err.message, err.hint);
    throw err;
  }
}

/**
 * Placement problems (replicas that do not fit once every app is packed), when stage 1 and 2
 * passed. The documents are not built: building cannot fail once placement fits, and skipping it
 * saves about 40% of a large repo's validate time.
 */
async function placementErrors(load: LoadResult): Promise<Diagnostic[]> {
  const { checkPlacement } = await import("../../core/evaluate.js");
  return checkPlacement(load);
}

function summary(load: LoadResult, errors: Diagnostic[], warnings: Diagnostic[]): string {
  const w = warnings.length > 0 ? `, ${plural(warnings.length, "warning")}` : "";
  if (errors.length > 0) {
    const files = new Set(errors.map((d) => d.file)).size;
    return `${plural(errors.length, "error")} in ${plural(files, "file")}${w}`;
  }
  const { apps, domains, nodes } = load.config;
  return `✓ ${plural(apps.length, "app")}, ${plural(domains.length, "domain")}, ${plural(nodes.length, "node")}: valid${w}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
