// Parses the quantities of the config (memory strings such as 256Mi) into numbers. Pure.

const UNITS: Record<string, number> = {
  "": 1,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
};

const MEMORY = /^([0-9]+(?:\.[0-9]+)?)(K|M|G|T|Ki|Mi|Gi|Ti)?$/;

/** Bytes of a memory quantity ("256Mi", "1.5G", "1048576"); undefined when it is not one. */
export function parseMemory(text: string): number | undefined {
  const m = MEMORY.exec(text);
  if (!m) return undefined;
  return Math.round(Number(m[1]) * (UNITS[m[2] ?? ""] as number));
}

/** A short human form of a byte count, in binary units (for messages). */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  const shown = i === 0 || Number.isInteger(value) ? String(value) : value.toFixed(1);
  return `${shown} ${units[i]}`;
}
