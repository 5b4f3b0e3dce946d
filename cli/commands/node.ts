// `berth node`: placeholder until its issue lands.
import type { Command } from "commander";
import { UserError } from "../errors.js";

export function register(program: Command): void {
  program
    .command("node")
    .description("(not built yet)")
    .allowUnknownOption()
    .action(() => {
      throw new UserError("berth node is not built yet");
    });
}
