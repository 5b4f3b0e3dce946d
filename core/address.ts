// Facts about addresses that both the config rules and the agent need. Pure.

/** True for 127.0.0.0/8, ::1 (bracketed or not), IPv4-mapped loopback and the name localhost. */
export function isLoopback(address: string): boolean {
  const v = address
    .trim()
    .replace(/^\[(.*)\]$/, "$1")
    .replace(/^::ffff:/i, "")
    .toLowerCase();
  return v === "::1" || /^127\./.test(v) || v === "localhost" || v.endsWith(".localhost");
}
