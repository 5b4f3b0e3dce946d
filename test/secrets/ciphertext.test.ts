// The armor check of secret-malformed has a fast path for ciphertexts exactly as age writes them
// and a careful path that names what is wrong. Both must give the same answer for every text: a
// seeded walk of mutations (characters changed, lines cut, joined or repeated, padding, blanks,
// CRLF, trailing text) over real ciphertexts compares inspectCiphertext with the careful path.
import { beforeAll, describe, expect, it } from "vitest";
import { rng } from "../../bench/gen-repo.js";
import { inspectArmorCarefully, inspectCiphertext } from "../../core/secrets/ciphertext.js";
import { encryptTo, encryptWithPassphrase, keypair } from "./age-fixture.js";

let samples: string[];

beforeAll(async () => {
  const [a, b, c] = await Promise.all([keypair(), keypair(), keypair()]);
  samples = [
    await encryptTo([a.recipient], "v"),
    await encryptTo([a.recipient, b.recipient, c.recipient], "a somewhat longer value ".repeat(9)),
    // Payload sizes that give every padding of the last line (0, 1 and 2 '=').
    await encryptTo([a.recipient, b.recipient], "x"),
    await encryptTo([a.recipient, b.recipient], "xy"),
    await encryptTo([a.recipient, b.recipient], "xyz"),
    await encryptWithPassphrase("v"),
  ];
});

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** One random change to an armored text. */
function mutate(r: () => number, text: string): string {
  const lines = text.split("\n");
  const at = Math.floor(r() * lines.length);
  const line = lines[at] as string;
  const pos = Math.floor(r() * (line.length + 1));
  const x = r();
  if (x < 0.2) {
    const ch =
      r() < 0.8
        ? (B64[Math.floor(r() * 64)] as string)
        : (["=", "!", " ", "-", "é"][Math.floor(r() * 5)] as string);
    lines[at] = line.slice(0, pos) + ch + line.slice(pos + 1);
  } else if (x < 0.3) lines[at] = line.slice(0, pos) + line.slice(pos + 1);
  else if (x < 0.4) lines.splice(at, 1);
  else if (x < 0.45) lines.splice(at, 0, line);
  else if (x < 0.5 && at + 1 < lines.length) lines.splice(at, 2, line + (lines[at + 1] as string));
  else if (x < 0.55) lines[at] = `${line}=`;
  else if (x < 0.6) lines[at] = line.replace(/=+$/, "");
  else if (x < 0.65) return `  \n${text}`;
  else if (x < 0.7) return text.replaceAll("\n", "\r\n");
  else if (x < 0.75) return `${text.trimEnd()}\n\n`;
  else if (x < 0.8) return text.trimEnd();
  else if (x < 0.85) return `${text}x`;
  else if (x < 0.9) lines[at] = line.slice(0, pos);
  else if (x < 0.95) {
    // A whole base64 line of the body replaced (changes the header or the payload).
    if (at > 0 && at < lines.length - 2)
      lines[at] = Array.from({ length: line.length }, () => B64[Math.floor(r() * 64)]).join("");
  } else lines.splice(at, 0, "");
  return lines.join("\n");
}

describe("inspectCiphertext", () => {
  it("reads ciphertexts as age writes them on the fast path, with the careful path's result", () => {
    for (const text of samples) {
      for (const t of [text, text.trimEnd(), `${text.trimEnd()}\n`]) {
        expect(inspectCiphertext(t)).toEqual(inspectArmorCarefully(t));
      }
      expect(inspectCiphertext(text).ok).toBe(true);
    }
    expect(inspectCiphertext(samples[1] as string)).toEqual({
      ok: true,
      stanzas: [{ type: "X25519" }, { type: "X25519" }, { type: "X25519" }],
    });
    expect(inspectCiphertext(samples[5] as string)).toEqual({ ok: true, stanzas: [{ type: "scrypt" }] });
  });

  it("refuses a line broken in two where the line lengths still add up", () => {
    // Four characters of a full line turned into line breaks: every 65th character is still a
    // line break and the rest is still whole base64, but the armor has lines that are too short.
    const text = samples[1] as string;
    const at = text.indexOf("\n") + 1 + 10;
    const broken = `${text.slice(0, at)}\n\n\n\n${text.slice(at + 4)}`;
    expect(inspectArmorCarefully(broken)).toEqual({
      ok: false,
      problem: "line 2 of the armor has a wrong length: lines are cut or joined",
    });
    expect(inspectCiphertext(broken)).toEqual(inspectArmorCarefully(broken));
  });

  it("gives the careful path's answer for every mutation of a seeded walk", () => {
    const r = rng(15);
    const seen = new Set<string>();
    let valid = 0;
    for (let i = 0; i < 4000; i++) {
      let text = samples[Math.floor(r() * samples.length)] as string;
      const steps = 1 + Math.floor(r() * 3);
      for (let k = 0; k < steps; k++) text = mutate(r, text);
      const careful = inspectArmorCarefully(text);
      expect(inspectCiphertext(text), JSON.stringify(text)).toEqual(careful);
      if (careful.ok) valid++;
      else seen.add(careful.problem.replace(/line \d+/, "line N"));
    }
    // The walk reaches valid texts and many different problems, not one.
    expect(valid).toBeGreaterThan(100);
    expect(seen.size).toBeGreaterThanOrEqual(8);
  });
});
