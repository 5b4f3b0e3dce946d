// Where a secret's value and an operator's identity come from. A value is read from a file or
// from stdin — a pipe, or the terminal with echo off — and never from the command line, where
// `ps` and the shell history would show it.
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { IdentityError, parseIdentities } from "../../core/secrets/identity.js";
import { UserError } from "../errors.js";

export interface ValueSource {
  fromFile?: string;
  /** Keep a final line break (by default one trailing "\n" or "\r\n" is dropped: `echo` adds it). */
  keepNewline?: boolean;
}

export async function readValue(src: ValueSource, prompt: string): Promise<string> {
  let text: string;
  if (src.fromFile) {
    try {
      text = await readFile(src.fromFile, "utf8");
    } catch (e) {
      throw new UserError(
        `cannot read --from-file ${src.fromFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
  } else if (process.stdin.isTTY) {
    text = await readHidden(prompt);
  } else {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    text = Buffer.concat(chunks).toString("utf8");
  }
  if (!src.keepNewline) text = text.replace(/\r?\n$/, "");
  if (text === "")
    throw new UserError(
      "the value is empty",
      'pipe the value in (printf %s "$VALUE" | berth secret set APP KEY) or use --from-file FILE',
    );
  if (text.includes("\0"))
    throw new UserError("the value holds a NUL byte, which no environment variable can carry");
  return text;
}

/** One line from the terminal, not echoed. */
function readHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let value = "";
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding("utf8");
    const done = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off("data", onData);
      process.stderr.write("\n");
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === "\r" || ch === "\n") return done();
        if (ch === "\u0003" || ch === "\u0004") return done(new UserError("cancelled; nothing was changed"));
        if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on("data", onData);
  });
}

/** The operator identity file: --identity, else $BERTH_IDENTITY, else ~/.config/berth/identity. */
export function identityPath(flag?: string): string {
  if (flag) return flag;
  if (process.env.BERTH_IDENTITY) return process.env.BERTH_IDENTITY;
  const base = process.env.XDG_CONFIG_HOME || join(homedir(), ".config");
  return join(base, "berth", "identity");
}

export async function readOperatorIdentities(file: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(
      `cannot read the operator identity ${file}: ${code ?? (e as Error).message}`,
      code === "ENOENT"
        ? "make one with `berth secret keygen` (and add its recipient to operators in berth.yaml), or pass --identity FILE"
        : "pass --identity FILE (an age identity file, as age-keygen writes)",
    );
  }
  try {
    return parseIdentities(text, file);
  } catch (e) {
    if (e instanceof IdentityError) throw new UserError(e.message);
    throw e;
  }
}
