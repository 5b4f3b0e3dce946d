// Reads the config files of a working tree: every *.yaml/*.yml outside dot-folders and
// node_modules. Symlinks are skipped (as in a commit, where they are not files); files over the
// size limit are not read past their first 64 KiB, only their size is passed on. I/O
// (synchronous reads: measured fastest for thousands of small files).
import { closeSync, fstatSync, openSync, readdirSync, readSync } from "node:fs";
import { type ConfigFile, isConfigPath, MAX_FILE_BYTES } from "../../core/config/index.js";

export function readWorktreeFiles(dir: string): ConfigFile[] {
  const files: ConfigFile[] = [];
  const pending: string[] = [""];
  while (pending.length > 0) {
    const rel = pending.pop() as string;
    for (const entry of readdirSync(rel === "" ? dir : `${dir}/${rel}`, { withFileTypes: true })) {
      const path = rel === "" ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!entry.name.startsWith(".") && entry.name !== "node_modules") pending.push(path);
      } else if (entry.isFile() && isConfigPath(path)) {
        files.push(readOne(`${dir}/${path}`, path));
      }
    }
  }
  return files;
}

// Most config files fit this buffer: one read() and no fstat() per file (16,000 files → 16,000
// fewer system calls). Reading is synchronous, so one shared buffer is enough.
const chunk = Buffer.allocUnsafe(64 * 1024);

function readOne(abs: string, path: string): ConfigFile {
  const fd = openSync(abs, "r");
  try {
    const n = readSync(fd, chunk, 0, chunk.length, 0);
    if (n < chunk.length) return textOrBytes(path, chunk, n);
    const size = fstatSync(fd).size;
    if (size > MAX_FILE_BYTES) return { path, content: new Uint8Array(0), size };
    const buf = Buffer.allocUnsafe(size);
    chunk.copy(buf, 0, 0, n);
    let off = n;
    while (off < size) {
      const got = readSync(fd, buf, off, size - off, off);
      if (got === 0) break;
      off += got;
    }
    return textOrBytes(path, buf, off);
  } finally {
    closeSync(fd);
  }
}

/** The file as text, decoded here in one native call; as bytes when it is not clean UTF-8. */
function textOrBytes(path: string, buf: Buffer, n: number): ConfigFile {
  const text = buf.toString("utf8", 0, n);
  // U+FFFD stands for bytes that are not UTF-8 (or is in the file): the loader checks the bytes.
  if (text.includes("\uFFFD")) return { path, content: Buffer.from(buf.subarray(0, n)) };
  return { path, content: text };
}
