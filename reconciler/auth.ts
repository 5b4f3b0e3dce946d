// Bearer tokens of agents and of the read API: generating them, hashing them (only the SHA-256 is
// ever stored or committed) and comparing secrets in constant time. Pure apart from the random
// bytes of a new token; knows nothing of HTTP or nodes.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** Prefix that makes a leaked berth token easy to recognise (and to scan for). */
const tokenPrefix = "berth_";

/** A new random bearer token: 32 bytes of entropy, URL-safe. */
export function generateToken(): string {
  return tokenPrefix + randomBytes(32).toString("base64url");
}

/** SHA-256 of a string or bytes as lowercase hex (the form of `tokenSha256` in node files). */
export function sha256Hex(value: string | Uint8Array): string {
  return createHash("sha256").update(value).digest("hex");
}

/**
 * Compares two secrets in time independent of where they differ. Both sides are hashed first so
 * the comparison also hides their lengths (timingSafeEqual itself needs equal lengths).
 */
export function secretsEqual(a: string | Uint8Array, b: string | Uint8Array): boolean {
  return timingSafeEqual(createHash("sha256").update(a).digest(), createHash("sha256").update(b).digest());
}

const hex64 = /^[0-9a-f]{64}$/;

/** Compares two SHA-256 hex digests in constant time; false when either is not 64 lowercase hex. */
export function sha256HexEqual(a: string, b: string): boolean {
  if (!hex64.test(a) || !hex64.test(b)) return false;
  return timingSafeEqual(Buffer.from(a, "hex"), Buffer.from(b, "hex"));
}

/** The token of an `Authorization: Bearer <token>` header, or undefined when absent or malformed. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(header);
  return match?.[1];
}
