// Reads the end of a supervised process's log file: the raw text of its last lines since the last
// start marker the driver wrote, without the driver's own marker lines. Reads at most the last
// 64 KiB, so a huge log (or one enormous line) costs no more than a small one. Sanitising and
// redaction are the caller's (agent/core/log-line.ts).
import { open } from "node:fs/promises";

/** Bytes read from the end of the file. */
const windowBytes = 64 * 1024;
const markerPrefix = "--- berth ";

export async function readLogTail(path: string, startMarker: string, lines: number): Promise<string> {
  let text: string;
  try {
    const fh = await open(path, "r");
    try {
      const { size } = await fh.stat();
      const from = Math.max(0, size - windowBytes);
      const buf = Buffer.alloc(size - from);
      const { bytesRead } = await fh.read(buf, 0, buf.length, from);
      text = buf.subarray(0, bytesRead).toString("utf8");
      // The first line of a window that starts mid-file is partial: drop it unless it is all there is.
      if (from > 0) {
        const nl = text.indexOf("\n");
        if (nl >= 0 && nl < text.length - 1) text = text.slice(nl + 1);
      }
    } finally {
      await fh.close();
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return "";
    throw e;
  }
  const all = text.split("\n");
  if (all.at(-1) === "") all.pop();
  let start = 0;
  for (let i = all.length - 1; i >= 0; i--) {
    const l = all[i] as string;
    if (l.startsWith(markerPrefix) && l.includes(` ${startMarker} `)) {
      start = i + 1;
      break;
    }
  }
  const out = all.slice(start).filter((l) => !l.startsWith(markerPrefix));
  return out.slice(-lines).join("\n");
}
