// Reads the structure of an ASCII-armored age ciphertext without decrypting it: the armor lines
// (a strict PEM subset, as age writes it) and the header's stanzas, up to its MAC line. Validation
// uses it to catch what would fail on a node — a paste cut short, a file encrypted with a
// passphrase, a header whose stanzas do not match the recipients berth recorded — for the price
// of one base64 decode (no key, no crypto; decryption is the age-encryption library's, on the
// agent and in the CLI). Pure.
//
// What it cannot tell: age X25519 stanzas do not name their recipient (by design), so whether a
// ciphertext was really made for the recipients listed beside it is known only to whoever holds
// an identity. That is why berth records the recipients, and the agent reports a clear error when
// its identity is not among them after all.

export const ARMOR_BEGIN = "-----BEGIN AGE ENCRYPTED FILE-----";
export const ARMOR_END = "-----END AGE ENCRYPTED FILE-----";

export interface StanzaInfo {
  /** The stanza's type, its first argument: X25519, scrypt, or a plugin's. */
  type: string;
}

export type CiphertextInfo = { ok: true; stanzas: StanzaInfo[] } | { ok: false; problem: string };

const B64_BODY = /^[A-Za-z0-9+/]*={0,2}$/;
const B64_NOPAD = /^[A-Za-z0-9+/]*$/;
const VERSION = "age-encryption.org/v1";

// The armor exactly as age writes it (armor.encode): lines of 64 base64 characters, the last one
// 4 to 64 long with its padding, and at most one final line break. Checked without a regular
// expression: the line breaks by position, the characters by decoding the body and encoding it
// again (both native): only canonical standard base64 comes back the same. Anything else takes the
// careful path below, which says what is wrong (or accepts it: leading blanks, CRLF, non-canonical
// padding bits). Measured on the 10,000 ciphertexts of the secrets bench repo (in process, third
// of three passes, quiet 2-core machine, 2026-12-03): inspectCiphertext took 57 ms with the
// regular expression this replaced (35 ms of it the expression) and takes 31 ms now, header
// reading (below) included. See docs/secrets.md, "Limits and figures".
const BODY_START = ARMOR_BEGIN.length + 1;
const LINE = 64;

/** The decoded body of a ciphertext laid out exactly as age writes it, else undefined. */
function asWrittenBody(text: string): Buffer | undefined {
  const tail = text.endsWith("\n") ? ARMOR_END.length + 2 : ARMOR_END.length + 1;
  const end = text.length - tail; // the line break before the END line
  if (end <= BODY_START || !text.startsWith(ARMOR_BEGIN) || text.charCodeAt(BODY_START - 1) !== 10)
    return undefined;
  if (text.charCodeAt(end) !== 10 || !text.startsWith(ARMOR_END, end + 1)) return undefined;
  const length = end - BODY_START;
  const last = length % (LINE + 1);
  if (last === 0 || last % 4 !== 0) return undefined;
  for (let at = BODY_START + LINE; at < end; at += LINE + 1) if (text.charCodeAt(at) !== 10) return undefined;
  const body = text.slice(BODY_START, end);
  const flat = body.replaceAll("\n", "");
  // No line break but the ones checked above (one more would make two short lines of one).
  if (flat.length !== length - Math.floor(length / (LINE + 1))) return undefined;
  const bytes = Buffer.from(flat, "base64");
  return bytes.toString("base64") === flat ? bytes : undefined;
}

/** The stanzas of an armored age ciphertext, or what is wrong with it (a sentence). */
export function inspectCiphertext(text: string): CiphertextInfo {
  const bytes = asWrittenBody(text);
  return bytes ? readHeader(bytes) : inspectArmorCarefully(text);
}

/** inspectCiphertext for any text: checks the armor line by line, so a problem is named. */
export function inspectArmorCarefully(text: string): CiphertextInfo {
  const lines = text.trim().replaceAll("\r\n", "\n").split("\n");
  const fail = (problem: string): CiphertextInfo => ({ ok: false, problem });
  if (lines[0] !== ARMOR_BEGIN)
    return fail(`it does not start with "${ARMOR_BEGIN}" (not an armored age ciphertext)`);
  if (lines.length < 3 || lines[lines.length - 1] !== ARMOR_END)
    return fail(`it does not end with "${ARMOR_END}": the ciphertext is cut short`);
  const body = lines.slice(1, -1);
  for (let i = 0; i < body.length; i++) {
    const l = body[i] as string;
    const last = i === body.length - 1;
    if (last ? l.length === 0 || l.length > 64 || l.length % 4 !== 0 : l.length !== 64)
      return fail(`line ${i + 2} of the armor has a wrong length: lines are cut or joined`);
  }
  const joined = body.join("");
  if (!B64_BODY.test(joined)) {
    const bad = body.findIndex((l, i) => !(i === body.length - 1 ? B64_BODY : B64_NOPAD).test(l));
    return fail(`line ${bad + 2} of the armor is not base64`);
  }
  return readHeader(Buffer.from(joined, "base64"));
}

/** Parses the binary header: version line, stanzas, MAC line; checks a payload follows. */
function readHeader(bytes: Buffer): CiphertextInfo {
  const fail = (problem: string): CiphertextInfo => ({ ok: false, problem });
  // One string for the header up to the end of its MAC line, where the first one is (the whole
  // text when there is none); lines are cut from it, and the rest is payload.
  const mac = bytes.indexOf("\n--- ");
  const macEnd = mac < 0 ? -1 : bytes.indexOf(10, mac + 1);
  const all = bytes.toString("latin1", 0, macEnd < 0 ? bytes.length : macEnd + 1);
  let pos = 0;
  const line = (): string | null => {
    const nl = all.indexOf("\n", pos);
    if (nl < 0) return null;
    const s = all.slice(pos, nl);
    pos = nl + 1;
    return s;
  };
  if (line() !== VERSION) return fail(`its header does not start with "${VERSION}"`);
  const stanzas: StanzaInfo[] = [];
  for (;;) {
    const l = line();
    if (l === null) return fail("its header has no MAC line: the ciphertext is cut short");
    if (l.startsWith("--- ")) {
      if (l.length !== 4 + 43 || !isBase64NoPad(l, 4)) return fail("its header's MAC line is malformed");
      break;
    }
    const args = l.split(" ");
    if (args[0] !== "->" || args.length < 2 || args.some((a) => a.length === 0))
      return fail("its header holds a line that is neither a stanza nor the MAC");
    const type = args[1] as string;
    // A stanza body is base64 without padding in lines of 64 characters; a shorter line ends it.
    let bodyLen = 0;
    for (;;) {
      const b = line();
      if (b === null) return fail("a stanza of its header is cut short");
      if (b.length > 64 || !isBase64NoPad(b, 0)) return fail("a stanza body of its header is not base64");
      bodyLen += Math.floor((b.length * 3) / 4);
      if (b.length < 64) break;
    }
    if (type === "X25519" && (args.length !== 3 || (args[2] as string).length !== 43 || bodyLen !== 32))
      return fail("an X25519 stanza of its header is malformed");
    stanzas.push({ type });
  }
  // The payload: a 16-byte nonce, then at least one chunk with its 16-byte tag.
  if (bytes.length - pos < 32) return fail("it has no payload after the header: the ciphertext is cut short");
  if (stanzas.length === 0) return fail("its header has no recipient stanza");
  return { ok: true, stanzas };
}

// Base64 characters without padding, by character code. A table, not B64_NOPAD: a header has a
// few short lines, and a regular expression's call costs more than the loop (12 of the 46 ms the
// header checks took for the bench repo's 10,000 ciphertexts).
const BASE64_CHAR = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
  BASE64_CHAR[c.charCodeAt(0)] = 1;

function isBase64NoPad(s: string, from: number): boolean {
  for (let i = from; i < s.length; i++) if (BASE64_CHAR[s.charCodeAt(i)] !== 1) return false;
  return true;
}

/**
 * Why a ciphertext cannot be what berth recorded for `recipients`, or undefined when its header
 * agrees: every stanza an X25519 one, one per recorded recipient.
 */
export function recipientsProblem(info: CiphertextInfo, recipients: readonly string[]): string | undefined {
  if (!info.ok) return info.problem;
  const other = info.stanzas.find((s) => s.type !== "X25519");
  if (other)
    return other.type === "scrypt"
      ? "it was encrypted with a passphrase, which no node can use"
      : `it has a "${other.type}" stanza; berth nodes hold X25519 identities only`;
  if (info.stanzas.length !== recipients.length)
    return `its header has ${info.stanzas.length} recipient stanza${info.stanzas.length === 1 ? "" : "s"} but ${recipients.length} recipient${recipients.length === 1 ? " is" : "s are"} listed: it was not made for the recipients listed beside it`;
  return undefined;
}
