#!/usr/bin/env node
// The `berth` executable: runs the command line (cli/program.ts) and exits with its code.
import { main } from "./program.js";

process.exitCode = await main(process.argv.slice(2));
