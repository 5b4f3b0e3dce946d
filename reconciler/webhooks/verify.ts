// Checks that a webhook delivery comes from the forge, the way each forge signs it, over the raw
// body bytes (never re-serialised JSON) and in constant time:
//   GitHub     X-Hub-Signature-256: sha256=<hex HMAC-SHA256>   (via @octokit/webhooks-methods)
//   Gitea      X-Gitea-Signature / X-Forgejo-Signature: <hex HMAC-SHA256>, no prefix
//   GitLab     X-Gitlab-Token: the secret itself (compared in constant time)
//   Bitbucket  X-Hub-Signature: sha256=<hex HMAC-SHA256>
// Returns a reason for a refusal that is safe to log and to send back: it names the header, never
// its value. Does not parse the payload.

import { isUtf8 } from "node:buffer";
import { createHmac, timingSafeEqual } from "node:crypto";
import { verify as verifyGithub } from "@octokit/webhooks-methods";
import { secretsEqual } from "../auth.js";
import type { Forge } from "./forges.js";
import { firstHeader, type HeaderBag } from "./headers.js";

export type VerifyResult = { ok: true } | { ok: false; reason: string };

const hexDigest = /^[0-9a-fA-F]{64}$/;

function hmacMatches(secret: string, body: Uint8Array, hex: string): boolean {
  if (!hexDigest.test(hex)) return false;
  const expected = createHmac("sha256", secret).update(body).digest();
  return timingSafeEqual(expected, Buffer.from(hex, "hex"));
}

/** `sha256=<hex>` signatures (GitHub, Bitbucket, Gitea's GitHub-compatible header). */
function prefixedHmacMatches(secret: string, body: Uint8Array, value: string): boolean {
  const match = /^sha256=(.*)$/.exec(value);
  return match?.[1] !== undefined && hmacMatches(secret, body, match[1]);
}

const mismatch = (name: string): VerifyResult => ({
  ok: false,
  reason: `${name} does not match the body signed with the webhook secret`,
});
const missing = (names: string): VerifyResult => ({ ok: false, reason: `missing ${names} header` });

/**
 * What can be checked before the body is read: the signature header is there and well formed
 * (GitLab's token is checked in full). A delivery failing this is refused without reading its
 * body, so junk and slow uploads cost no more than their headers.
 */
export function checkWebhookHeaders(forge: Forge, headers: HeaderBag, secret: string): VerifyResult {
  const malformed = (name: string, form: string): VerifyResult => ({
    ok: false,
    reason: `${name} is not ${form}`,
  });
  const prefixed = /^sha256=[0-9a-fA-F]{64}$/;
  switch (forge) {
    case "github": {
      const sig = firstHeader(headers, ["X-Hub-Signature-256"]);
      if (!sig) return missing("X-Hub-Signature-256");
      return prefixed.test(sig.value) ? { ok: true } : malformed(sig.name, "sha256=<64 hex digits>");
    }
    case "gitea": {
      const plain = firstHeader(headers, ["X-Gitea-Signature", "X-Forgejo-Signature"]);
      if (plain) return hexDigest.test(plain.value) ? { ok: true } : malformed(plain.name, "64 hex digits");
      const hub = firstHeader(headers, ["X-Hub-Signature-256"]);
      if (hub) return prefixed.test(hub.value) ? { ok: true } : malformed(hub.name, "sha256=<64 hex digits>");
      return missing("X-Gitea-Signature (or X-Forgejo-Signature)");
    }
    case "gitlab":
      return gitlabToken(headers, secret);
    case "bitbucket": {
      const sig = firstHeader(headers, ["X-Hub-Signature"]);
      if (!sig) return missing("X-Hub-Signature");
      return prefixed.test(sig.value) ? { ok: true } : malformed(sig.name, "sha256=<64 hex digits>");
    }
  }
}

export async function verifyWebhook(
  forge: Forge,
  headers: HeaderBag,
  rawBody: Buffer,
  secret: string,
): Promise<VerifyResult> {
  switch (forge) {
    case "github": {
      const sig = firstHeader(headers, ["X-Hub-Signature-256"]);
      if (!sig) return missing("X-Hub-Signature-256");
      if (rawBody.length === 0) return { ok: false, reason: "empty body" };
      // octokit verifies a string; a body that is not UTF-8 would not survive the round trip.
      const ok = isUtf8(rawBody)
        ? await verifyGithub(secret, rawBody.toString("utf8"), sig.value)
        : prefixedHmacMatches(secret, rawBody, sig.value);
      return ok ? { ok: true } : mismatch(sig.name);
    }
    case "gitea": {
      const plain = firstHeader(headers, ["X-Gitea-Signature", "X-Forgejo-Signature"]);
      if (plain) return hmacMatches(secret, rawBody, plain.value) ? { ok: true } : mismatch(plain.name);
      const prefixed = firstHeader(headers, ["X-Hub-Signature-256"]);
      if (prefixed)
        return prefixedHmacMatches(secret, rawBody, prefixed.value) ? { ok: true } : mismatch(prefixed.name);
      return missing("X-Gitea-Signature (or X-Forgejo-Signature)");
    }
    case "gitlab":
      return gitlabToken(headers, secret);
    case "bitbucket": {
      const sig = firstHeader(headers, ["X-Hub-Signature"]);
      if (!sig) return missing("X-Hub-Signature");
      return prefixedHmacMatches(secret, rawBody, sig.value) ? { ok: true } : mismatch(sig.name);
    }
  }
}

/** GitLab sends the secret itself: checked in full from the header alone (before any body is read). */
function gitlabToken(headers: HeaderBag, secret: string): VerifyResult {
  const token = firstHeader(headers, ["X-Gitlab-Token"]);
  if (!token) return missing("X-Gitlab-Token");
  return secretsEqual(token.value, secret)
    ? { ok: true }
    : { ok: false, reason: "X-Gitlab-Token does not equal the webhook secret" };
}
