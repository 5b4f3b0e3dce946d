// `berth rollback`: placeholder until its issue lands.
import type { Command } from "commander";
import { UserError } from "../errors.js";

export function register(program: Command): void {
  program
    .command("rollback")
    .description("(not built yet)")
    .allowUnknownOption()
    .action(() => {
      throw new UserError("berth rollback is not built yet");
    });
}
