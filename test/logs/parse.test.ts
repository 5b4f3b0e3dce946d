// Pure parsing of stored output: marker lines, engine timestamps, file names, the time index and
// the entry a raw line becomes. Table tests.
import { describe, expect, it } from "vitest";
import {
  appOfInstance,
  appOfWorkload,
  entryOf,
  formatMarker,
  offsetSince,
  parseMarker,
  parseProcessLogName,
  parseSavedContainerName,
  parseStamps,
  parseTimestamped,
  stampAt,
} from "../../agent/core/log-parse.js";

const t = (iso: string) => Date.parse(iso);

describe("markers and timestamps", () => {
  it("reads back the markers berth writes", () => {
    const line = formatMarker(t("2025-05-01T10:00:00.123Z"), "starting berth-web-0-a (node, port 1)");
    expect(line.endsWith("\n")).toBe(true);
    expect(parseMarker(line.trimEnd())).toEqual({
      ms: t("2025-05-01T10:00:00.123Z"),
      text: "starting berth-web-0-a (node, port 1)",
    });
  });
  it.each(["hello", "--- berth not-a-time text", "-- berth 2025-05-01T10:00:00Z x", ""])(
    "%j is not a marker",
    (line) => expect(parseMarker(line)).toBeNull(),
  );
  const stamped: [string, string, string][] = [
    ["2026-12-03T06:17:45.395372784Z hello", "2026-12-03T06:17:45.395Z", "hello"],
    ["2026-12-03T06:17:45Z no fraction", "2026-12-03T06:17:45.000Z", "no fraction"],
    ["2026-12-03T08:17:45.5+02:00 offset", "2026-12-03T06:17:45.500Z", "offset"],
    ["2026-12-03T06:17:45.395372784Z ", "2026-12-03T06:17:45.395Z", ""],
    ["2026-12-03T06:17:45.395372784Z  two spaces", "2026-12-03T06:17:45.395Z", " two spaces"],
  ];
  it.each(stamped)("engine line %j", (line, iso, text) => {
    const p = parseTimestamped(line);
    expect(p && { ms: p.ms, text: p.text }).toEqual({ ms: t(iso), text });
  });
  it("keeps nanoseconds for ordering within a millisecond", () => {
    expect(parseTimestamped("2026-12-03T06:17:45.395372784Z x")?.nanos).toBe("395372784");
    expect(parseTimestamped("2026-12-03T06:17:45.5Z x")?.nanos).toBe("500000000");
  });
  it("refuses lines without a timestamp", () => {
    expect(parseTimestamped("hello 2026-12-03T06:17:45Z")).toBeNull();
  });
});

describe("file names", () => {
  const apps: [string, string | null][] = [
    ["berth-web-0-a", "web"],
    ["berth-web-1-0-b", "web-1"],
    ["berth-a-b-c-12-a", "a-b-c"],
    ["berth-web-0-c", null],
    ["web-0-a", null],
  ];
  it.each(apps)("app of instance %s", (instance, app) => expect(appOfInstance(instance)).toBe(app));
  it("app of a workload id", () => {
    expect(appOfWorkload("web-3")).toBe("web");
    expect(appOfWorkload("web-1-0")).toBe("web-1");
  });
  it("process logs and their rotated copies", () => {
    expect(parseProcessLogName("berth-web-0-a.log")).toEqual({ instance: "berth-web-0-a", generation: 0 });
    expect(parseProcessLogName("berth-web-0-a.log.2")).toEqual({ instance: "berth-web-0-a", generation: 2 });
    expect(parseProcessLogName("berth-web-0-a.log.times")).toBeNull();
    expect(parseProcessLogName("berth-web-0-a.log.1.times")).toBeNull();
    expect(parseProcessLogName("notes.txt")).toBeNull();
  });
  it("saved container output", () => {
    expect(parseSavedContainerName("berth-web-0-b.0123456789ab.log")).toEqual({
      instance: "berth-web-0-b",
      id: "0123456789ab",
    });
    expect(parseSavedContainerName("berth-web-0-b.log")).toBeNull();
  });
});

describe("time index", () => {
  it("keeps well-formed records within the file, ignoring a torn one", () => {
    // A time that goes back (clock stepped) is raised to the previous one: times never decrease.
    expect(parseStamps("10 1000\n20 2000\n30 30", 100)).toEqual([
      { offset: 10, ms: 1000 },
      { offset: 20, ms: 2000 },
      { offset: 30, ms: 2000 },
    ]);
    expect(parseStamps("10 1000\n20 2000\n3", 100)).toEqual([
      { offset: 10, ms: 1000 },
      { offset: 20, ms: 2000 },
    ]);
  });
  it("starts over after the offsets went back (file truncated outside berth)", () => {
    expect(parseStamps("50 1000\n80 2000\n10 3000\n40 4000\n", 100)).toEqual([
      { offset: 10, ms: 3000 },
      { offset: 40, ms: 4000 },
    ]);
  });
  it("drops records past the file's size", () => {
    expect(parseStamps("10 1000\n500 2000\n", 100)).toEqual([{ offset: 10, ms: 1000 }]);
  });
  const stamps = [
    { offset: 10, ms: 1000 },
    { offset: 25, ms: 2000 },
    { offset: 40, ms: 3000 },
  ];
  const at: [number, number][] = [
    [5, 1000],
    [10, 1000],
    [11, 2000],
    [25, 2000],
    [40, 3000],
    [41, 9999],
  ];
  it.each(at)("a line ending at %d was written by %d", (end, ms) =>
    expect(stampAt(stamps, end, 9999)).toBe(ms),
  );
  it("starts reading at the last offset known to be older than since", () => {
    expect(offsetSince(stamps, 500)).toBe(0);
    expect(offsetSince(stamps, 1500)).toBe(10);
    expect(offsetSince(stamps, 2000)).toBe(10);
    expect(offsetSince(stamps, 2500)).toBe(25);
    expect(offsetSince(stamps, 5000)).toBe(40);
  });
});

describe("entryOf", () => {
  const raw = (text: string, end = 100, total?: number) => ({
    bytes: Buffer.from(text),
    total: total ?? Buffer.byteLength(text),
    end,
  });
  const stamps = { kind: "stamps" as const, stamps: [{ offset: 100, ms: 5000 }], mtime: 9000 };
  it("gives process output the time index's time, sanitised and redacted", () => {
    expect(
      entryOf(raw("\x1b[31mpw=hunter22\x1b[0m"), {
        instance: "berth-web-0-a",
        time: stamps,
        secrets: ["hunter22"],
      }),
    ).toEqual({ ms: 5000, instance: "berth-web-0-a", line: "pw=[redacted]", origin: "app" });
  });
  it("falls back to the file's mtime after the last stamp", () => {
    expect(entryOf(raw("late", 150), { instance: "i", time: stamps, secrets: [] })?.ms).toBe(9000);
  });
  it("gives a marker line its own time, as berth's", () => {
    const m = formatMarker(t("2025-05-01T10:00:00Z"), "berth-web-0-a stopped (terminated)").trimEnd();
    expect(entryOf(raw(m), { instance: "berth-web-0-a", time: stamps, secrets: [] })).toEqual({
      ms: t("2025-05-01T10:00:00Z"),
      instance: "berth-web-0-a",
      line: "berth-web-0-a stopped (terminated)",
      origin: "berth",
    });
  });
  it("reads engine timestamps, and skips lines without one", () => {
    const ctx = { instance: "berth-web-0-b", time: { kind: "prefix" as const }, secrets: [] };
    expect(entryOf(raw("2026-12-03T06:17:45.395372784Z hi"), ctx)).toMatchObject({
      ms: t("2026-12-03T06:17:45.395Z"),
      line: "hi",
      origin: "app",
    });
    expect(entryOf(raw("no stamp"), ctx)).toBeNull();
  });
  it("marks a line read only in part with its whole size", () => {
    const e = entryOf(raw("x".repeat(100), 2_000_000, 1_048_576), {
      instance: "i",
      time: stamps,
      secrets: [],
    });
    expect(e?.line).toMatch(/line truncated at 8192 bytes: 1048576 bytes written\]$/);
  });
  it("journal files hold markers only", () => {
    const ctx = { instance: "berth", time: { kind: "markers" as const }, secrets: [] };
    expect(entryOf(raw("stray text"), ctx)).toBeNull();
  });
});
