// The values of a workload that no output may show: what the log-line sanitiser
// (agent/core/log-line.ts) redacts in crash excerpts and `berth logs` lines of that workload.
// They are the values of env keys whose names look secret, the passwords inside URLs of plain
// env values, and every value decrypted from the workload's encrypted secrets (whatever its
// name), so an app that prints its own secret is redacted too.

import type { Workload } from "../../schema/index.js";
import { secretValues } from "../core/log-line.js";
import type { SecretResolver } from "./resolver.js";

const URL_PASSWORD = /\b[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s/@:"'<>]*:([^\s/@"'<>]+)@/g;

/** Longest first, 3+ characters (redact() ignores shorter ones). */
export async function sensitiveValues(
  w: Pick<Workload, "app" | "env" | "secrets">,
  resolver?: SecretResolver,
): Promise<string[]> {
  const out = new Set(secretValues(w.env));
  for (const v of Object.values(w.env)) for (const m of v.matchAll(URL_PASSWORD)) out.add(m[1] as string);
  if (resolver && w.secrets && Object.keys(w.secrets).length > 0) {
    // A secret this node cannot decrypt was never given to the workload: nothing to redact.
    const plain = await resolver.decrypt(w.app, w.secrets).catch(() => ({}));
    for (const v of Object.values(plain)) out.add(v);
  }
  return [...out].filter((v) => v.length >= 3).sort((a, b) => b.length - a.length);
}
