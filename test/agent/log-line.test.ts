// sanitizeLogLine: the one function every output path uses. Table of raw lines → what berth shows.
import { describe, expect, it } from "vitest";
import {
  maxLogLineBytes,
  redact,
  sanitizeLogLine,
  secretValues,
  truncationMark,
} from "../../agent/core/log-line.js";

describe("sanitizeLogLine", () => {
  const cases: [string, string, string][] = [
    ["plain text", "hello world", "hello world"],
    ["tabs kept", "a\tb", "a\tb"],
    ["SGR colours removed", "\x1b[31mred\x1b[0m and \x1b[1;32mbold green\x1b[m", "red and bold green"],
    ["cursor movement removed", "\x1b[2K\x1b[1Gdone", "done"],
    ["8-bit CSI removed", "\x9b31mred", "red"],
    ["OSC title (BEL) removed", "\x1b]0;my title\x07text", "text"],
    ["OSC hyperlink (ST) removed", "\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "link"],
    ["charset designation removed", "\x1b(Bplain", "plain"],
    ["lone ESC removed", "a\x1b", "a"],
    ["NUL removed", "a\x00b\x00\x00c", "abc"],
    ["other controls removed", "bell\x07 back\x08space\x7f", "bell backspace"],
    ["progress folded to the last state", "10%\r50%\r100%", "100%"],
    ["trailing CR (CRLF line) dropped", "windows line\r", "windows line"],
    ["progress then CR", "a\rb\r", "b"],
    ["only CRs", "\r\r", ""],
    ["ANSI inside progress", "\x1b[32m10%\x1b[0m\r\x1b[32m100%\x1b[0m", "100%"],
    ["replacement characters of binary kept", "bin\ufffd\ufffdary", "bin\ufffd\ufffdary"],
    ["unicode kept", "héllo wörld ✓ 😀", "héllo wörld ✓ 😀"],
  ];
  it.each(cases)("%s", (_name, raw, shown) => {
    expect(sanitizeLogLine(raw)).toBe(shown);
  });

  it("redacts secret values, the longest first", () => {
    const secrets = ["hunter22", "hunter22-extended", "abc"];
    expect(sanitizeLogLine("pw=hunter22-extended and hunter22, abc stays", { secrets })).toBe(
      "pw=[redacted] and [redacted], abc stays",
    );
    expect(redact("no secret here", secrets)).toBe("no secret here");
  });

  it("redacts a secret that ANSI codes or progress would otherwise hide", () => {
    expect(sanitizeLogLine("\x1b[1mtoken: s3cr3t-value\x1b[0m", { secrets: ["s3cr3t-value"] })).toBe(
      "token: [redacted]",
    );
    expect(sanitizeLogLine("x\rkey s3cr3t-value", { secrets: ["s3cr3t-value"] })).toBe("key [redacted]");
  });

  it("caps a long line at 8 KiB with a visible mark saying its size", () => {
    const raw = "x".repeat(1024 * 1024);
    const shown = sanitizeLogLine(raw);
    expect(Buffer.byteLength(shown)).toBeLessThanOrEqual(maxLogLineBytes);
    expect(shown.endsWith(truncationMark(1024 * 1024))).toBe(true);
    expect(shown.startsWith("xxxx")).toBe(true);
  });

  it("keeps a line of exactly 8 KiB whole", () => {
    const raw = "y".repeat(maxLogLineBytes);
    expect(sanitizeLogLine(raw)).toBe(raw);
  });

  it("never cuts inside a multi-byte character", () => {
    const raw = "é".repeat(maxLogLineBytes); // 2 bytes each
    const shown = sanitizeLogLine(raw);
    expect(shown).not.toContain("\ufffd");
    expect(Buffer.byteLength(shown)).toBeLessThanOrEqual(maxLogLineBytes);
  });

  it("marks a line the caller read only the beginning of, with its real size", () => {
    const shown = sanitizeLogLine("start of a huge line", { totalBytes: 5_000_000 });
    expect(shown).toBe(`start of a huge line${truncationMark(5_000_000)}`);
  });

  it("redacts a secret that straddles the cut before cutting", () => {
    const secret = "straddling-secret-value";
    const raw = `${"a".repeat(maxLogLineBytes - 60)}${secret}${"b".repeat(100)}`;
    const shown = sanitizeLogLine(raw, { secrets: [secret] });
    expect(shown).not.toContain("straddling");
    expect(shown).toContain("[redact");
  });
});

describe("secretValues", () => {
  it("takes the values of secret-looking keys that are long enough", () => {
    expect(
      secretValues({
        API_TOKEN: "tok-123456",
        DB_PASSWORD: "pw-abcdef",
        SECRET_KEY: "k",
        LOG_LEVEL: "debug",
        PORT: "8080",
      }).sort(),
    ).toEqual(["pw-abcdef", "tok-123456"]);
  });
});
