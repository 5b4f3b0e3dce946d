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
// 4 to 64 long with its padding, and at most one final line break. One regular expression over the
// text, so the usual ciphertext needs no split, join or per-line test; anything else takes the
// careful path below, which says what is wrong (or accepts it: leading blanks, CRLF). Measured on
// the 10,000-secret bench repo (callgrind, --predictable): see docs/secrets.md.
const AS_WRITTEN =
  /^-----BEGIN AGE ENCRYPTED FILE-----\n(?:[A-Za-z0-9+/]{64}\n)*([A-Za-z0-9+/]{2,64}={0,2})\n-----END AGE ENCRYPTED FILE-----\n?$/;
const BODY_START = ARMOR_BEGIN.length + 1;

/** The stanzas of an armored age ciphertext, or what is wrong with it (a sentence). */
export function inspectCiphertext(text: string): CiphertextInfo {
  const last = AS_WRITTEN.exec(text)?.[1];
  if (last !== undefined && last.length <= 64 && last.length % 4 === 0) {
    // Node's base64 decoder skips the line breaks, so the body is decoded where it stands.
    const end = text.length - ARMOR_END.length - (text.endsWith("\n") ? 2 : 1);
    return readHeader(Buffer.from(text.slice(BODY_START, end), "base64"));
  }
  return inspectArmorCarefully(text);
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
  // One string for the whole header and payload (a few hundred bytes); lines are cut from it.
  const all = bytes.toString("latin1");
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
      if (!B64_NOPAD.test(l.slice(4)) || l.length !== 4 + 43)
        return fail("its header's MAC line is malformed");
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
      if (!B64_NOPAD.test(b) || b.length > 64) return fail("a stanza body of its header is not base64");
      bodyLen += Math.floor((b.length * 3) / 4);
      if (b.length < 64) break;
    }
    if (type === "X25519" && (args.length !== 3 || (args[2] as string).length !== 43 || bodyLen !== 32))
      return fail("an X25519 stanza of its header is malformed");
    stanzas.push({ type });
  }
  // The payload: a 16-byte nonce, then at least one chunk with its 16-byte tag.
  if (all.length - pos < 32) return fail("it has no payload after the header: the ciphertext is cut short");
  if (stanzas.length === 0) return fail("its header has no recipient stanza");
  return { ok: true, stanzas };
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
