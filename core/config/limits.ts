// Limits on what the config loader accepts, and the host ports berth keeps for itself. Written
// once here so the loader, the rules and docs/config.md agree.

/** Config files larger than this are refused (a config file is a few KiB; 4 MiB is generous). */
export const MAX_FILE_BYTES = 4 * 1024 * 1024;

/** Deepest nesting of maps/lists in one document (js-yaml's own default, applied to both parsers). */
export const MAX_DEPTH = 100;

/** Most alias expansions in one document: bounds "billion laughs" alias bombs. */
export const MAX_ALIAS_COUNT = 100;

/** Host ports below this are privileged; workloads never get them. */
export const FIRST_UNPRIVILEGED_PORT = 1024;

/** Host ports berth itself listens on by default, which a node's portRange must not include. */
export const RESERVED_PORTS: readonly { port: number; use: string }[] = [
  { port: 2019, use: "Caddy's admin API" },
  { port: 7070, use: "berth serve's API" },
];

/** Linux's default ephemeral port range (net.ipv4.ip_local_port_range); overlapping it is risky. */
export const EPHEMERAL_PORTS = { low: 32768, high: 60999 } as const;
