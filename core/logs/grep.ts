// `--grep` patterns. A pattern comes from a person and runs on agents against every line of an
// app's output, so it must not be able to stall an agent: patterns are compiled with V8's
// linear-time regular expression engine (the `l` flag), which refuses the features that need
// backtracking (backreferences, lookaround) and runs every accepted pattern in time linear in the
// line. Turning the engine on is the one side effect here: a V8 flag, idempotent, no I/O.
import { setFlagsFromString } from "node:v8";

let enabled = false;

export type GrepResult = { ok: true; test: (line: string) => boolean } | { ok: false; error: string };

/** Compiles `pattern` (JavaScript syntax, case-sensitive) for the linear-time engine. */
export function compileGrep(pattern: string): GrepResult {
  if (!enabled) {
    setFlagsFromString("--enable-experimental-regexp-engine");
    enabled = true;
  }
  if (pattern.length === 0) return { ok: false, error: "the grep pattern is empty" };
  if (pattern.length > 500) return { ok: false, error: "the grep pattern is longer than 500 characters" };
  let re: RegExp;
  try {
    re = new RegExp(pattern, "l");
  } catch (e) {
    const why = (e as Error).message.replace(/^Invalid regular expression: /, "");
    return {
      ok: false,
      error: /linear time/.test(why)
        ? `grep pattern ${JSON.stringify(pattern)} needs backtracking (backreferences or lookaround), which berth does not run on agents; use a plain regular expression`
        : `grep pattern ${JSON.stringify(pattern)} is not a valid regular expression: ${why}`,
    };
  }
  return { ok: true, test: (line) => re.test(line) };
}
