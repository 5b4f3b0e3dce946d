// `berth serve`: placeholder until its issue lands.
import type { Command } from "commander";
import { UserError } from "../errors.js";

export function register(program: Command): void {
  program
    .command("serve")
    .description("(not built yet)")
    .allowUnknownOption()
    .action(() => {
      throw new UserError("berth serve is not built yet");
    });
}
