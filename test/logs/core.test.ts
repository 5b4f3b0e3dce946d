// The pure parts of `berth logs`: --since parsing, time-order merging (history and the live
// reorder window) and linear-time grep patterns. Table tests.
import { describe, expect, it } from "vitest";
import { compileGrep } from "../../core/logs/grep.js";
import { mergeSorted, newest, ReorderWindow } from "../../core/logs/merge.js";
import { parseSince } from "../../core/logs/since.js";

const now = Date.parse("2025-05-01T12:00:00.000Z");

describe("parseSince", () => {
  const ok: [string, string][] = [
    ["90s", "2025-05-01T11:58:30.000Z"],
    ["10m", "2025-05-01T11:50:00.000Z"],
    ["2h", "2025-05-01T10:00:00.000Z"],
    ["1d", "2025-04-30T12:00:00.000Z"],
    ["1h30m", "2025-05-01T10:30:00.000Z"],
    ["1.5h", "2025-05-01T10:30:00.000Z"],
    ["250ms", "2025-05-01T11:59:59.750Z"],
    ["2025-05-01T10:00:00Z", "2025-05-01T10:00:00.000Z"],
    ["2025-05-01T12:00:00+02:00", "2025-05-01T10:00:00.000Z"],
    ["2025-05-01 10:00:00Z", "2025-05-01T10:00:00.000Z"],
    ["2025-04-30", "2025-04-30T00:00:00.000Z"],
  ];
  it.each(ok)("%s", (value, iso) => {
    const r = parseSince(value, now);
    expect(r).toEqual({ ok: true, ms: Date.parse(iso) });
  });
  it.each(["", "10", "ten minutes", "10x", "-5m", "2025-13-45T99:00:00Z", "yesterday"])(
    "refuses %j with what it accepts",
    (value) => {
      const r = parseSince(value, now);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toMatch(/neither a duration \(90s, 10m, 2h, 1d, 1h30m\) nor a time/);
    },
  );
});

describe("mergeSorted", () => {
  const l = (src: string, ...ms: number[]) => ms.map((m, i) => ({ ms: m, id: `${src}${i}` }));
  it("merges sorted lists in time order", () => {
    const out = mergeSorted([l("a", 1, 4, 9), l("b", 2, 3, 10), l("c", 5)]);
    expect(out.map((x) => x.ms)).toEqual([1, 2, 3, 4, 5, 9, 10]);
  });
  it("keeps equal times in list order, then each list's own order", () => {
    const out = mergeSorted([l("a", 5, 5), l("b", 5), l("c", 1, 5)]);
    expect(out.map((x) => x.id)).toEqual(["c0", "a0", "a1", "b0", "c1"]);
  });
  it("handles empty lists and no lists", () => {
    expect(mergeSorted([])).toEqual([]);
    expect(mergeSorted([[], l("x", 3), []]).map((x) => x.id)).toEqual(["x0"]);
  });
  it("newest takes the tail", () => {
    expect(newest([1, 2, 3, 4], 2)).toEqual([3, 4]);
    expect(newest([1, 2], 5)).toEqual([1, 2]);
    expect(newest([1, 2], 0)).toEqual([]);
  });
});

describe("ReorderWindow", () => {
  const e = (ms: number, tag: string) => ({ ms, tag });
  it("holds lines for the window and releases them sorted", () => {
    const w = new ReorderWindow<{ ms: number; tag: string }>(100);
    w.push([e(10, "n1-a"), e(30, "n1-b")], 1000);
    w.push([e(20, "n2-a")], 1050);
    expect(w.release(1090)).toEqual([]);
    expect(w.nextDue()).toBe(1100);
    // n1's lines are due; n2-a (ms 20) is older than n1-b (ms 30), so it goes out with them.
    expect(w.release(1100).map((x) => x.tag)).toEqual(["n1-a", "n2-a", "n1-b"]);
    expect(w.size).toBe(0);
    expect(w.nextDue()).toBeNull();
  });
  it("keeps newer held lines back until their own time", () => {
    const w = new ReorderWindow<{ ms: number; tag: string }>(100);
    w.push([e(10, "a")], 0);
    w.push([e(50, "b")], 60);
    expect(w.release(100).map((x) => x.tag)).toEqual(["a"]);
    expect(w.release(159)).toEqual([]);
    expect(w.release(160).map((x) => x.tag)).toEqual(["b"]);
  });
  it("releases a late line at once rather than dropping it, and everything with all", () => {
    const w = new ReorderWindow<{ ms: number; tag: string }>(100);
    w.push([e(500, "new")], 0);
    expect(w.release(100).map((x) => x.tag)).toEqual(["new"]);
    w.push([e(10, "late"), e(600, "later")], 150);
    expect(w.release(160, true).map((x) => x.tag)).toEqual(["late", "later"]);
  });
  it("keeps arrival order for equal times", () => {
    const w = new ReorderWindow<{ ms: number; tag: string }>(0);
    w.push([e(5, "x"), e(5, "y")], 0);
    w.push([e(5, "z")], 0);
    expect(w.release(0).map((x) => x.tag)).toEqual(["x", "y", "z"]);
  });
});

describe("compileGrep", () => {
  const matches: [string, string, boolean][] = [
    ["error", "an error here", true],
    ["error", "an ERROR here", false],
    ["[Ee]rror", "Error!", true],
    ["^GET /api", "GET /api/x", true],
    ["^GET /api", "POST /api", false],
    ["\\d{3} ms$", "took 120 ms", true],
    ["a|b", "xyz", false],
    ["(a+)+b", "a".repeat(100_000), false],
  ];
  it.each(matches)("%s on %j", (pattern, line, want) => {
    const r = compileGrep(pattern);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.test(line)).toBe(want);
  });
  it("runs a pattern that would backtrack forever in linear time", () => {
    const r = compileGrep("(x+x+)+y");
    if (!r.ok) throw new Error(r.error);
    // A backtracking engine would not finish this before the test's timeout (nor the universe's).
    expect(r.test("x".repeat(8192))).toBe(false);
  });
  const refused: [string, RegExp][] = [
    ["(a)\\1", /needs backtracking/],
    ["foo(?=bar)", /needs backtracking/],
    ["(?<=x)y", /needs backtracking/],
    ["(unclosed", /not a valid regular expression/],
    ["", /empty/],
    ["x".repeat(501), /longer than 500/],
  ];
  it.each(refused)("refuses %j", (pattern, why) => {
    const r = compileGrep(pattern);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(why);
  });
});
