// Reading stored output from real files: lines backwards and forwards with bounded memory (a
// 1 MiB line, binary garbage), process logs with their time index and rotated copies, -n, since,
// grep, a line still being written.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { formatMarker, formatStamp, type RawLine } from "../../agent/core/log-parse.js";
import { forwardFrom, keepBytes, readBackward, readForward } from "../../agent/logs/file-lines.js";
import { type HistoryQuery, readFileHistory } from "../../agent/logs/history.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function fileWith(content: string | Buffer): string {
  const dir = mkdtempSync(join(tmpdir(), "berth-logs-"));
  dirs.push(dir);
  const path = join(dir, "berth-web-0-a.log");
  writeFileSync(path, content);
  return path;
}

async function backward(path: string, partial: boolean, range?: { from: number; to: number }) {
  const fh = await open(path, "r");
  const out: RawLine[] = [];
  const size = (await fh.stat()).size;
  await readBackward(fh, range ?? { from: 0, to: size }, { partial }, (l) => {
    out.push(l);
    return true;
  });
  await fh.close();
  return out;
}
const texts = (ls: RawLine[]) => ls.map((l) => l.bytes.toString());

describe("readBackward", () => {
  const cases: [string, string, boolean, string[]][] = [
    ["complete lines", "a\nbb\nccc\n", false, ["ccc", "bb", "a"]],
    ["empty lines kept", "a\n\nb\n", false, ["b", "", "a"]],
    ["leading empty line", "\nx\n", false, ["x", ""]],
    ["an unfinished last line left out", "a\nb\npart", false, ["b", "a"]],
    ["an unfinished last line included", "a\nb\npart", true, ["part", "b", "a"]],
    ["only an unfinished line", "part", true, ["part"]],
    ["empty file", "", true, []],
  ];
  it.each(cases)("%s", async (_n, content, partial, want) => {
    expect(texts(await backward(fileWith(content), partial))).toEqual(want);
  });

  it("gives each line's end offset (past its newline)", async () => {
    const lines = await backward(fileWith("ab\ncde\n"), false);
    expect(lines.map((l) => [l.bytes.toString(), l.end, l.total])).toEqual([
      ["cde", 7, 3],
      ["ab", 3, 2],
    ]);
  });

  it("lines across many chunks, and stopping early", async () => {
    const all = Array.from({ length: 20_000 }, (_, i) => `line ${i}`);
    const path = fileWith(`${all.join("\n")}\n`);
    expect(texts(await backward(path, false))).toEqual([...all].reverse());
    const fh = await open(path, "r");
    const got: string[] = [];
    await readBackward(fh, { from: 0, to: (await fh.stat()).size }, { partial: false }, (l) => {
      got.push(l.bytes.toString());
      return got.length < 3;
    });
    await fh.close();
    expect(got).toEqual(["line 19999", "line 19998", "line 19997"]);
  });

  it("keeps only the beginning of a 1 MiB line, with its real length", async () => {
    const huge = `START${"x".repeat(1024 * 1024 - 10)}END!!`;
    const lines = await backward(fileWith(`before\n${huge}\nafter\n`), false);
    expect(texts(lines)[0]).toBe("after");
    expect(lines[1]?.total).toBe(1024 * 1024);
    expect(lines[1]?.bytes.length).toBe(keepBytes);
    expect(lines[1]?.bytes.subarray(0, 5).toString()).toBe("START");
    expect(texts(lines)[2]).toBe("before");
  });

  it("reads only a range (from an offset the time index gave)", async () => {
    expect(texts(await backward(fileWith("a\nb\nc\n"), false, { from: 2, to: 6 }))).toEqual(["c", "b"]);
  });
});

describe("readForward", () => {
  it("returns complete lines and keeps an unfinished one until its newline comes", async () => {
    const path = fileWith("one\ntw");
    const fh = await open(path, "r");
    const st = forwardFrom(0);
    expect((await readForward(fh, st, 6)).map((l) => [l.bytes.toString(), l.end])).toEqual([["one", 4]]);
    writeFileSync(path, "one\ntwo\nthr", { flag: "w" });
    expect((await readForward(fh, st, 11)).map((l) => l.bytes.toString())).toEqual(["two"]);
    expect(st.offset).toBe(11);
    await fh.close();
  });
  it("bounds a huge line still being written", async () => {
    const path = fileWith(`${"y".repeat(3 * 1024 * 1024)}\nok\n`);
    const fh = await open(path, "r");
    const lines = await readForward(fh, forwardFrom(0), 3 * 1024 * 1024 + 4);
    await fh.close();
    expect(lines.map((l) => [l.bytes.length, l.total])).toEqual([
      [keepBytes, 3 * 1024 * 1024],
      [2, 2],
    ]);
  });
});

describe("readFileHistory of a process log", () => {
  const base = Date.parse("2025-05-01T10:00:00.000Z");
  const q = (over: Partial<HistoryQuery> = {}): HistoryQuery => ({
    lines: 100,
    sinceMs: null,
    grep: null,
    secrets: [],
    following: false,
    ...over,
  });
  /** A log of `n` lines `l<i>`, each stamped at base + i seconds, and a marker at its start. */
  function stampedLog(n: number): string {
    let text = formatMarker(base - 1000, "starting berth-web-0-a (node, port 1, restart 0)");
    let times = "";
    for (let i = 0; i < n; i++) {
      text += `l${i}\n`;
      times += formatStamp({ offset: Buffer.byteLength(text), ms: base + i * 1000 });
    }
    const path = fileWith(text);
    writeFileSync(`${path}.times`, times);
    return path;
  }
  const src = (path: string) => ({ kind: "process" as const, instance: "berth-web-0-a", path });

  it("gives each line the time of its stamp, and the marker its own", async () => {
    const got = (await readFileHistory(src(stampedLog(3)), q())).items;
    expect(got.map((e) => [new Date(e.ms).toISOString(), e.line, e.origin])).toEqual([
      ["2025-05-01T09:59:59.000Z", "starting berth-web-0-a (node, port 1, restart 0)", "berth"],
      ["2025-05-01T10:00:00.000Z", "l0", "app"],
      ["2025-05-01T10:00:01.000Z", "l1", "app"],
      ["2025-05-01T10:00:02.000Z", "l2", "app"],
    ]);
  });

  it("-n: the newest lines, oldest first", async () => {
    const got = (await readFileHistory(src(stampedLog(50)), q({ lines: 3 }))).items;
    expect(got.map((e) => e.line)).toEqual(["l47", "l48", "l49"]);
  });

  it("since: only lines at or after it", async () => {
    const got = (await readFileHistory(src(stampedLog(50)), q({ sinceMs: base + 47_000 }))).items;
    expect(got.map((e) => e.line)).toEqual(["l47", "l48", "l49"]);
  });

  it("grep: the newest matching lines", async () => {
    const got = (await readFileHistory(src(stampedLog(50)), q({ lines: 2, grep: (l) => l.endsWith("7") })))
      .items;
    expect(got.map((e) => e.line)).toEqual(["l37", "l47"]);
  });

  it("goes on into the rotated copies, newest first", async () => {
    const path = stampedLog(2);
    writeFileSync(`${path}.1`, "r1a\nr1b\n");
    writeFileSync(`${path}.2`, "r2a\n");
    const got = (await readFileHistory(src(path), q({ lines: 5 }))).items;
    expect(got.map((e) => e.line)).toEqual([
      "r1a",
      "r1b",
      "starting berth-web-0-a (node, port 1, restart 0)",
      "l0",
      "l1",
    ]);
    // Rotated lines have no index: they take their file's mtime, capped by the lines after them.
    expect(got[1]?.ms).toBeLessThanOrEqual(got[2]?.ms as number);
  });

  it("never gives a line a later time than the line after it", async () => {
    const path = fileWith("a\nb\nc\n");
    // The index says a and b were seen late (the agent was down); c's marker-free time is earlier.
    writeFileSync(
      `${path}.times`,
      formatStamp({ offset: 4, ms: base + 9000 }) + formatStamp({ offset: 6, ms: base + 9000 }),
    );
    const got = (await readFileHistory(src(path), q())).items;
    const ms = got.map((e) => e.ms);
    expect([...ms].sort((x, y) => x - y)).toEqual(ms);
  });

  it("leaves out the line still being written while following, shows it otherwise", async () => {
    const path = fileWith("done\nhalf");
    const following = await readFileHistory(src(path), q({ following: true }));
    expect(following.items.map((e) => e.line)).toEqual(["done"]);
    // A follower goes on where the unfinished line starts.
    expect(following.resumeAt).toBe(5);
    expect((await readFileHistory(src(path), q())).items.map((e) => e.line)).toEqual(["done", "half"]);
  });

  it("gives the follower's starting point even when no history is wanted", async () => {
    const path = fileWith("a\nb\nc");
    const h = await readFileHistory(src(path), q({ lines: 0, following: true }));
    expect(h).toEqual({ items: [], resumeAt: 4 });
  });

  it("sanitises binary garbage, ANSI, progress, and redacts secrets", async () => {
    const garbage = Buffer.from([
      0x00, 0xff, 0xfe, 0x1b, 0x5b, 0x33, 0x31, 0x6d, 0x41, 0x00, 0x80, 0x0d, 0x42,
    ]);
    const path = fileWith(
      Buffer.concat([Buffer.from("token=sup3r-s3cret\n"), garbage, Buffer.from("\n10%\r100%\n")]),
    );
    const got = (await readFileHistory(src(path), q({ secrets: ["sup3r-s3cret"] }))).items;
    expect(got.map((e) => e.line)).toEqual(["token=[redacted]", "B", "100%"]);
  });

  it("a 1 MiB line comes out capped with its real size", async () => {
    const path = fileWith(`${"z".repeat(1024 * 1024)}\nnext\n`);
    const got = (await readFileHistory(src(path), q())).items;
    expect(got[0]?.line).toMatch(/^z+ … \[line truncated at 8192 bytes: 1048576 bytes written\]$/);
    expect(Buffer.byteLength(got[0]?.line as string)).toBeLessThanOrEqual(8192);
    expect(got[1]?.line).toBe("next");
  });

  it("a missing file has no history", async () => {
    expect(
      await readFileHistory({ kind: "process", instance: "x", path: "/nonexistent/berth-x-0-a.log" }, q()),
    ).toEqual({ items: [], resumeAt: null });
  });
});

describe("readFileHistory of saved container output and the journal", () => {
  it("reads engine timestamps of saved output", async () => {
    const path = fileWith("2026-12-03T06:17:45.395Z a\n2026-12-03T06:17:46.000Z \x1b[1mb\x1b[0m\n");
    const got = await readFileHistory(
      { kind: "saved", instance: "berth-web-0-b", path },
      {
        lines: 10,
        sinceMs: Date.parse("2026-12-03T06:17:45.500Z"),
        grep: null,
        secrets: [],
        following: false,
      },
    );
    expect(got.items).toEqual([
      { ms: Date.parse("2026-12-03T06:17:46.000Z"), instance: "berth-web-0-b", line: "b", origin: "app" },
    ]);
  });
  it("reads the journal's marker lines as berth's", async () => {
    const path = fileWith(
      formatMarker(1000, "restart r-1: web-0 restarted") + formatMarker(2000, "restart r-1 succeeded"),
    );
    const got = await readFileHistory(
      { kind: "journal", instance: "berth", path },
      {
        lines: 1,
        sinceMs: null,
        grep: null,
        secrets: [],
        following: false,
      },
    );
    expect(got.items).toEqual([
      { ms: 2000, instance: "berth", line: "restart r-1 succeeded", origin: "berth" },
    ]);
  });
});
