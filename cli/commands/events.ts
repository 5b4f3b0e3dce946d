// `berth events`: placeholder until its issue lands.
import type { Command } from "commander";
import { UserError } from "../errors.js";

export function register(program: Command): void {
  program
    .command("events")
    .description("(not built yet)")
    .allowUnknownOption()
    .action(() => {
      throw new UserError("berth events is not built yet");
    });
}
