// Decides whether a desired-state document the agent received may be applied: it must pass the
// schema, name this node, and its hashes must match its content (document hash and every
// workload's specHash). A rejected document is never applied; the agent keeps what runs. Pure.

import { hashOf } from "../../core/canonical-json.js";
import { type DesiredState, validateDesired } from "../../schema/index.js";

export type DocumentCheck =
  | { ok: true; doc: DesiredState }
  | {
      ok: false;
      code: "document-invalid" | "document-wrong-node" | "document-hash-mismatch";
      message: string;
      hash: string | null;
    };

/** Hash a document claims, when it has one that looks like a hash (for reporting). */
function claimedHash(raw: unknown): string | null {
  const h = (raw as { hash?: unknown } | null)?.hash;
  return typeof h === "string" && /^sha256:[0-9a-f]{64}$/.test(h) ? h : null;
}

/** The hash a document must carry: over workloads, routes and upstreamAddress, not source (SPEC §2). */
export const documentHash = (doc: Pick<DesiredState, "workloads" | "routes" | "upstreamAddress">): string =>
  hashOf({
    workloads: doc.workloads,
    routes: doc.routes,
    ...(doc.upstreamAddress !== undefined ? { upstreamAddress: doc.upstreamAddress } : {}),
  });

export function workloadSpecHash(w: DesiredState["workloads"][number]): string {
  const { specHash: _omit, ...rest } = w;
  return hashOf(rest);
}

export function checkDocument(raw: unknown, node: string): DocumentCheck {
  const validate = validateDesired();
  if (!validate(raw)) {
    const errs = (validate.errors ?? [])
      .slice(0, 5)
      .map((e) => `${e.instancePath || "(document)"} ${e.message ?? "is invalid"}`);
    return {
      ok: false,
      code: "document-invalid",
      message: `desired document fails its schema: ${errs.join("; ")}`,
      hash: claimedHash(raw),
    };
  }
  const doc = raw;
  if (doc.node !== node) {
    return {
      ok: false,
      code: "document-wrong-node",
      message: `desired document is for node "${doc.node}" but this agent is node "${node}" (check --node and the token)`,
      hash: doc.hash,
    };
  }
  const actual = documentHash(doc);
  if (actual !== doc.hash) {
    return {
      ok: false,
      code: "document-hash-mismatch",
      message: `desired document says hash ${doc.hash} but its content hashes to ${actual}`,
      hash: doc.hash,
    };
  }
  const seen = new Set<string>();
  for (const w of doc.workloads) {
    if (seen.has(w.id)) {
      return {
        ok: false,
        code: "document-invalid",
        message: `desired document lists workload ${w.id} twice`,
        hash: doc.hash,
      };
    }
    seen.add(w.id);
    const spec = workloadSpecHash(w);
    if (spec !== w.specHash) {
      return {
        ok: false,
        code: "document-hash-mismatch",
        message: `workload ${w.id} says specHash ${w.specHash} but its content hashes to ${spec}`,
        hash: doc.hash,
      };
    }
  }
  return { ok: true, doc };
}
