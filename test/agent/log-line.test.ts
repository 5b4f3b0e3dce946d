// The one sanitiser of workload output (agent/core/log-line.ts): table tests of what a line
// becomes, and of the streaming splitter on chunks cut anywhere.
import { describe, expect, it } from "vitest";
import {
  createLineSplitter,
  maxLineBytes,
  REDACTED,
  redact,
  sanitiseLine,
  sanitiseOutput,
  secretValues,
} from "../../agent/core/log-line.js";

const SECRET = "hunter2-very-secret";

describe("sanitiseLine", () => {
  const cases: { name: string; raw: string | Uint8Array; want: string }[] = [
    { name: "plain text is kept", raw: "listening on :8080", want: "listening on :8080" },
    { name: "tabs are kept", raw: "a\tb", want: "a\tb" },
    { name: "colour (SGR) escapes removed", raw: "\x1b[31merror\x1b[0m: boom", want: "error: boom" },
    { name: "cursor movement and erase removed", raw: "\x1b[2K\x1b[1Gdone", want: "done" },
    {
      name: "OSC title / hyperlink removed",
      raw: "\x1b]0;title\x07x \x1b]8;;http://a\x1b\\link\x1b]8;;\x1b\\",
      want: "x link",
    },
    { name: "NUL and other controls removed", raw: "a\x00b\x07c\x08d\x7fe", want: "abcde" },
    { name: "C1 controls removed", raw: "a\u009bb\u0085c", want: "abc" },
    {
      name: "carriage-return progress folded to the last state",
      raw: "10%\r50%\r100% done",
      want: "100% done",
    },
    { name: "CRLF line end", raw: "windows line\r", want: "windows line" },
    {
      name: "invalid UTF-8 becomes U+FFFD",
      raw: Uint8Array.from([0x61, 0xff, 0xfe, 0x62]),
      want: "a\ufffd\ufffdb",
    },
    { name: "multi-byte text is kept", raw: "héllo ✓ 日本", want: "héllo ✓ 日本" },
    { name: "secret value redacted", raw: `token is ${SECRET}!`, want: `token is ${REDACTED}!` },
    {
      name: "secret split by an escape is still redacted",
      raw: `${SECRET.slice(0, 5)}\x1b[1m${SECRET.slice(5)}`,
      want: REDACTED,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(sanitiseLine(c.raw, { secrets: [SECRET] })).toBe(c.want);
    });
  }

  it("caps a line at 8 KiB with a visible mark, never splitting a character", () => {
    const long = "é".repeat(10_000); // 20,000 bytes
    const out = sanitiseLine(long);
    expect(Buffer.byteLength(out, "utf8")).toBeLessThanOrEqual(maxLineBytes);
    expect(out).toMatch(/ … \[line truncated at 8192 bytes: 20000 bytes written\]$/);
    expect(out).not.toContain("\ufffd");
    expect(sanitiseLine("x".repeat(maxLineBytes))).toBe("x".repeat(maxLineBytes));
  });

  it("redacts before cutting, so a secret astride the cap does not leak its start", () => {
    const line = `${"x".repeat(100)}${SECRET}`;
    const out = sanitiseLine(line, { secrets: [SECRET], maxBytes: 110 + 60 });
    expect(out).not.toContain(SECRET.slice(0, 5));
  });
});

describe("secretValues and redact", () => {
  it("picks values of secret-looking keys, longest first, ignoring very short ones", () => {
    const env = { API_TOKEN: "abc123", DB_PASSWORD: "pw-longer-one", LOG_LEVEL: "debug", SECRET_X: "no" };
    expect(secretValues(env)).toEqual(["pw-longer-one", "abc123"]);
  });
  it("redacts a secret that contains another whole", () => {
    const secrets = secretValues({ A_KEY: "abcd", B_KEY: "xxabcdxx" });
    expect(redact("v=xxabcdxx", secrets)).toBe(`v=${REDACTED}`);
  });
});

describe("sanitiseOutput", () => {
  it("splits a chunk into lines; a trailing newline ends the last one", () => {
    expect(sanitiseOutput("a\nb\r\n\x1b[1mc\x1b[0m\n")).toEqual(["a", "b", "c"]);
    expect(sanitiseOutput("")).toEqual([]);
    expect(sanitiseOutput("\n")).toEqual([""]);
  });
});

describe("createLineSplitter", () => {
  /** Feeds `input` cut into pieces of `size` bytes. */
  const feed = (input: Buffer, size: number, secrets: string[] = []) => {
    const s = createLineSplitter({ secrets });
    const out: string[] = [];
    for (let i = 0; i < input.length; i += size) out.push(...s.push(input.subarray(i, i + size)));
    out.push(...s.end());
    return out;
  };

  it("gives the same lines whatever the chunk size", () => {
    const input = Buffer.from(`one\r\ntwo\n10%\r20%\r30%\nsecret ${SECRET} here\n\x1b[32mgreen\x1b[0m\nlast`);
    const want = ["one", "two", "30%", `secret ${REDACTED} here`, "green", "last"];
    for (const size of [1, 2, 3, 7, 64, 4096]) expect(feed(input, size, [SECRET])).toEqual(want);
  });

  it("holds at most one capped line: a 1 MiB line comes out at 8 KiB with the bytes it had", () => {
    const big = Buffer.concat([Buffer.from("x".repeat(1024 * 1024)), Buffer.from("\nnext\n")]);
    const out = feed(big, 65_536);
    expect(out).toHaveLength(2);
    expect(Buffer.byteLength(out[0] as string)).toBeLessThanOrEqual(maxLineBytes);
    expect(out[0]).toContain(`${1024 * 1024} bytes written`);
    expect(out[1]).toBe("next");
  });

  it("binary garbage gives printable text and no control characters", () => {
    const garbage = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256));
    const out = feed(garbage, 100);
    for (const line of out) expect(line).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
  });

  it("a line ending in \\r at the end of the stream is kept", () => {
    expect(feed(Buffer.from("progress 100%\r"), 3)).toEqual(["progress 100%"]);
  });
});
