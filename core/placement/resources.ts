// Units of placement: memory strings ("256Mi", "1.5G") to bytes and CPU cores to millicores, so
// capacity sums are exact integers and do not drift with floating point. Pure.

const units: Record<string, number> = {
  "": 1,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
};

const memoryPattern = /^([0-9]+(?:\.[0-9]+)?)(K|M|G|T|Ki|Mi|Gi|Ti)?$/;

/** Bytes in a memory amount as the schema writes it; throws on a string the schema would reject. */
export function parseMemory(s: string): number {
  const m = memoryPattern.exec(s);
  if (!m) throw new Error(`"${s}" is not a memory amount (use e.g. 512Mi or 2G)`);
  return Math.round(Number(m[1]) * (units[m[2] ?? ""] as number));
}

/** CPU cores as integer millicores. */
export function cpuMillis(cores: number): number {
  return Math.round(cores * 1000);
}

/** A readable memory amount for messages, in binary units. */
export function formatMemory(bytes: number): string {
  if (!Number.isFinite(bytes)) return "unlimited";
  for (const [unit, size] of [
    ["Ti", 2 ** 40],
    ["Gi", 2 ** 30],
    ["Mi", 2 ** 20],
    ["Ki", 2 ** 10],
  ] as const) {
    if (bytes >= size) return `${trim(bytes / size)}${unit}`;
  }
  return `${bytes}B`;
}

/** A readable CPU amount for messages. */
export function formatCpu(millis: number): string {
  return Number.isFinite(millis) ? trim(millis / 1000) : "unlimited";
}

function trim(n: number): string {
  return String(Math.round(n * 100) / 100);
}
