// Copies the operations page's static files (reconciler/ui/assets) next to the compiled module in
// dist/, where reconciler/ui/assets.ts reads them (tsc copies only what it compiles).
import { cpSync } from "node:fs";

cpSync("reconciler/ui/assets", "dist/reconciler/ui/assets", { recursive: true });
