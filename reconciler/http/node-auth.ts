// Who may call a node's routes: the bearer token's SHA-256 must equal the node's `tokenSha256`
// (constant-time). To answer 403 rather than 401 for a valid token of another node, tokens are
// indexed by hash → node, rebuilt only when the published generation changes (O(1) per request).
// A node is known when the backend has a document or a token hash for it.
import { bearerToken, sha256Hex, sha256HexEqual } from "../auth.js";
import type { ApiBackend } from "../contracts.js";

export class TokenIndex {
  private byHash = new Map<string, string>();
  private builtFor = -1;
  /** Nodes named in request paths: indexed too, in case the backend lists only nodes it has seen. */
  private readonly asked = new Set<string>();

  constructor(private readonly backend: ApiBackend) {}

  /** The node whose token has this hash, if any. */
  ownerOf(hash: string, pathNode: string): string | undefined {
    const generation = this.backend.published().generation;
    if (generation !== this.builtFor) this.rebuild(generation);
    if (!this.asked.has(pathNode)) {
      // Only nodes the config knows are remembered, so random names cannot grow the index.
      const own = this.backend.tokenSha256(pathNode);
      if (own) {
        this.asked.add(pathNode);
        this.byHash.set(own, pathNode);
      }
    }
    return this.byHash.get(hash);
  }

  /** Records a node that just authenticated, so its hash is indexed without a rebuild. */
  note(node: string, hash: string): void {
    if (this.asked.has(node)) return;
    this.asked.add(node);
    this.byHash.set(hash, node);
  }

  private rebuild(generation: number): void {
    const names = new Set(this.asked);
    for (const n of this.backend.nodes()) names.add(n.node);
    const next = new Map<string, string>();
    for (const name of names) {
      const hash = this.backend.tokenSha256(name);
      if (hash) next.set(hash, name);
    }
    this.byHash = next;
    this.builtFor = generation;
  }
}

export type NodeAuth =
  | { ok: true }
  | { ok: false; status: 401 | 403 | 404; error: string; result: "unauthorized" | "forbidden" | "not_found" };

const challenge = 'Bearer realm="berth"';
export const wwwAuthenticate = { "WWW-Authenticate": challenge };

export function authenticateNode(
  backend: ApiBackend,
  tokens: TokenIndex,
  authorization: string | undefined,
  node: string,
): NodeAuth {
  const token = bearerToken(authorization);
  if (!token) {
    return {
      ok: false,
      status: 401,
      result: "unauthorized",
      error: "missing Authorization: Bearer <token> header (give the agent its node token with --token-file)",
    };
  }
  const hash = sha256Hex(token);
  const expected = backend.tokenSha256(node);
  if (expected !== undefined && sha256HexEqual(hash, expected)) {
    tokens.note(node, expected);
    return { ok: true };
  }
  const owner = tokens.ownerOf(hash, node);
  if (owner === undefined) {
    if (expected === undefined && backend.desired(node) !== undefined) {
      return {
        ok: false,
        status: 401,
        result: "unauthorized",
        error: `node ${node} has no tokenSha256 in its node file; create one with \`berth node add\` and commit it`,
      };
    }
    return {
      ok: false,
      status: 401,
      result: "unauthorized",
      error: "the bearer token matches no node's tokenSha256 in the published config",
    };
  }
  // The caller holds a valid token: it may learn whether the node exists.
  if (expected === undefined && backend.desired(node) === undefined) {
    return {
      ok: false,
      status: 404,
      result: "not_found",
      error: `node ${node} is not in the published config`,
    };
  }
  return {
    ok: false,
    status: 403,
    result: "forbidden",
    error: `this token belongs to node ${owner}; a token only opens its own node, not ${node}`,
  };
}
