// Parses a listen address "HOST:PORT" ("127.0.0.1:7070", "[::1]:0", ":7070" = 127.0.0.1). Pure.

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(listen.trim());
  const port = Number(m?.[3]);
  if (!m || !Number.isInteger(port) || port > 65535) {
    throw new Error(`invalid listen address "${listen}": expected HOST:PORT, e.g. 127.0.0.1:7070`);
  }
  const host = m[1] ?? (m[2] || "127.0.0.1");
  return { host, port };
}
