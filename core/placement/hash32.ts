// Small, fast, platform-independent 32-bit hashes for rendezvous scoring and port slots.
// Not cryptographic: they only need to spread names evenly and be the same on every machine
// (integer maths via Math.imul, so no floating point enters the hash itself).

/** FNV-1a over the UTF-16 code units of `s`, finished with murmur3's fmix32 for avalanche. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

/** murmur3's finaliser: a bijection on 32-bit integers where every input bit flips every output bit. */
export function fmix32(x: number): number {
  let h = x | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Combines two already-mixed 32-bit hashes into one (order matters). */
export function combine(a: number, b: number): number {
  return fmix32(a ^ Math.imul(b, 0x9e3779b1) ^ (b >>> 15));
}
