// Global CLI flags (SPEC §4) and terminal output helpers shared by every command.
import { styleText } from "node:util";
import type { Command } from "commander";
import { UserError } from "./errors.js";

export interface Globals {
  /** Absolute path of the config repo (default: current directory). */
  repo: string;
  json: boolean;
  color: boolean;
}

export function readGlobals(cmd: Command): Globals {
  const opts = cmd.optsWithGlobals() as { repo?: string; json?: boolean; color?: boolean };
  const noColorEnv = process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== "";
  return {
    repo: resolvePath(opts.repo ?? process.cwd()),
    json: opts.json === true,
    color: opts.color !== false && !noColorEnv && process.stdout.isTTY === true,
  };
}

function resolvePath(p: string): string {
  return p.startsWith("/") ? p : `${process.cwd()}/${p}`.replace(/\/\.$/, "");
}

export type Style = "bold" | "dim" | "red" | "green" | "yellow" | "cyan" | "magenta";

/** Returns a painter that colours text only when colours are on. */
export function painter(color: boolean): (style: Style, text: string) => string {
  return color ? (style, text) => styleText(style, text) : (_style, text) => text;
}

/** `path` on the reconciler at `--url`; a --url that is not a URL is the user's mistake, said so. */
export function reconcilerUrl(path: string, base: string): URL {
  try {
    return new URL(path, base);
  } catch {
    throw new UserError(`--url ${JSON.stringify(base)} is not a URL`, "e.g. --url http://127.0.0.1:7070");
  }
}
