// `berth schema [NAME]`: prints the JSON Schemas (all of them as one JSON object, or one by name).
import type { Command } from "commander";
import { schemas } from "../../schema/index.js";
import { UserError } from "../errors.js";

export function register(program: Command): void {
  program
    .command("schema [name]")
    .description("print the JSON Schemas of the config files and wire documents (e.g. `berth schema app`)")
    .action((name?: string) => {
      if (!name) {
        process.stdout.write(`${JSON.stringify(schemas, null, 2)}\n`);
        return;
      }
      const key = `${name.replace(/\.schema\.json$/, "").toLowerCase()}.schema.json` as keyof typeof schemas;
      const s = schemas[key];
      if (!s) throw new UserError(`no schema named ${name}`, `one of: ${Object.keys(schemas).join(", ")}`);
      process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
    });
}
