// Canonical JSON follows RFC 8785 on the cases that matter for berth's hashes.
import { describe, expect, it } from "vitest";
import { rng } from "../../bench/gen-repo.js";
import { canonicalJson, hashOf, keyOf, sha256Hex, sortedKeys } from "../../core/canonical-json.js";

describe("canonicalJson", () => {
  it("sorts keys by UTF-16 code units at every depth and drops undefined", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined }, A: null })).toBe(
      '{"A":null,"a":{"d":[3,{"y":2,"z":1}]},"b":1}',
    );
    // U+20AC (€) sorts before U+FB33 and after "\r" by code unit, as RFC 8785 §3.2.3 requires.
    expect(canonicalJson({ "\u20ac": 1, "\r": 2, "\ufb33": 3, "1": 4 })).toBe(
      '{"\\r":2,"1":4,"\u20ac":1,"\ufb33":3}',
    );
  });

  it("orders keys exactly as Array#sort does, for small (insertion-sorted) and large objects", () => {
    const random = rng(7);
    const alphabet = [
      "a",
      "B",
      "b",
      "_",
      "-",
      "0",
      "9",
      "10",
      "\u00e9",
      "\u20ac",
      "\ufb33",
      "\ud83d\ude00",
      "\r",
    ];
    for (let round = 0; round < 400; round++) {
      const obj: Record<string, number> = {};
      const size = Math.floor(random() * 40);
      for (let i = 0; i < size; i++) {
        let key = "";
        const len = 1 + Math.floor(random() * 3);
        for (let c = 0; c < len; c++) key += alphabet[Math.floor(random() * alphabet.length)];
        obj[key] = i;
      }
      expect(sortedKeys(obj)).toEqual(Object.keys(obj).sort());
    }
    expect(sortedKeys({ "9": 1, "10": 2, a: 3 })).toEqual(["10", "9", "a"]);
  });

  it("writes numbers as ECMAScript does", () => {
    expect(canonicalJson([1e21, 1e-7, -0, 0.1, 123456789012345680000, 4.5, 2 ** 53])).toBe(
      "[1e+21,1e-7,0,0.1,123456789012345680000,4.5,9007199254740992]",
    );
    expect(() => canonicalJson(Number.NaN)).toThrow(/no JSON form/);
    expect(() => canonicalJson({ a: () => 1 })).toThrow(/no JSON form/);
  });

  it("escapes strings minimally", () => {
    expect(canonicalJson('a"\\\n\u0001\u001f/é')).toBe('"a\\"\\\\\\n\\u0001\\u001f/é"');
  });

  it("hashes as sha256:<hex> of the canonical text", () => {
    expect(sha256Hex("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(hashOf({ b: 2, a: 1 })).toBe(`sha256:${sha256Hex('{"a":1,"b":2}')}`);
    expect(hashOf({ b: 2, a: 1 })).toBe(hashOf({ a: 1, b: 2 }));
  });

  it("keyOf is memoised per object", () => {
    const o = { a: 1 };
    expect(keyOf(o)).toBe('{"a":1}');
    expect(keyOf(o)).toBe(keyOf(o));
  });
});
