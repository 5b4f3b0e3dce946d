// Bundles the CLI (cli/main.ts and everything it imports from this project) into a few files in
// dist/bin, which is what the `berth` executable runs. Packages from node_modules stay imports.
//
// Why: tsc leaves one ES module per source file, and `berth validate` loaded about 250 of them;
// Node resolves, reads and links each one (~0.2 ms apiece here). Bundled, the same run loads a
// handful. Measured on the 10,000-app bench repo with a secret on every app (farm-bench, 10 runs
// each, 2-core VM, 2026-12-03): 1,034 ms → 985 ms median wall time. Commands stay lazily loaded
// (cli/program.ts imports each one when it runs): esbuild splits them into their own chunks.
//
// Files the code finds next to itself (import.meta.url) are placed here too: the operations
// page's assets (reconciler/ui/assets.ts reads ./assets/), and the CLI itself for `berth demo`
// (./main.js). Run after tsc, which type-checks; esbuild reads the TypeScript sources directly.
// Usage: node scripts/bundle.mjs [OUTDIR]   (default dist/bin)
import { cpSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Writes the bundled CLI to `outdir` (emptied first); its entry is `outdir`/main.js. */
export async function bundleCli(outdir) {
  rmSync(outdir, { recursive: true, force: true });
  await build({
    absWorkingDir: root,
    entryPoints: { main: "cli/main.ts" },
    outdir,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    packages: "external",
    sourcemap: "linked",
    logLevel: "warning",
  });
  cpSync(join(root, "reconciler/ui/assets"), join(outdir, "assets"), { recursive: true });
  return join(outdir, "main.js");
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await bundleCli(resolve(root, process.argv[2] ?? "dist/bin"));
}
