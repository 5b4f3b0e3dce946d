// port-range: a node's portRange must hold at least one pair of host ports (each workload owns
// hostPort and hostPort+1, the slot start-first uses), and must not include privileged ports or
// the ports berth itself listens on. Overlapping Linux's ephemeral range is a warning.
import { EPHEMERAL_PORTS, FIRST_UNPRIVILEGED_PORT, RESERVED_PORTS } from "../limits.js";
import type { RepoRule } from "./types.js";

export const portRange: RepoRule = {
  name: "port-range",
  scope: "repo",
  reads: ["nodes"],
  check({ config }, report) {
    for (const n of config.nodes) {
      const [low, high] = n.spec.portRange;
      const shown = `portRange [${low}, ${high}]`;
      const at = (message: string, path: (string | number)[] = ["portRange"], severity?: "warning") =>
        report({ origin: n.origin, path, message, ...(severity ? { severity } : {}) });
      if (low > high) {
        at(`${shown} is empty: write [low, high] with low <= high`);
        continue;
      }
      if (high - low + 1 < 2) {
        at(
          `${shown} has 1 port, but each workload needs 2 consecutive ports (the second for start-first replacement): widen it`,
        );
        continue;
      }
      if (low < FIRST_UNPRIVILEGED_PORT) {
        at(
          `${shown} includes privileged ports below ${FIRST_UNPRIVILEGED_PORT}: start it at ${FIRST_UNPRIVILEGED_PORT} or above`,
          ["portRange", 0],
        );
      }
      const reserved = RESERVED_PORTS.filter((r) => r.port >= low && r.port <= high);
      if (reserved.length > 0) {
        const list = reserved.map((r) => `${r.port} (${r.use})`).join(", ");
        at(
          `${shown} includes ${list}, which berth uses itself: choose a range without ${reserved.map((r) => r.port).join(", ")}`,
        );
      }
      if (low <= EPHEMERAL_PORTS.high && high >= EPHEMERAL_PORTS.low) {
        at(
          `${shown} overlaps Linux's ephemeral ports ${EPHEMERAL_PORTS.low}-${EPHEMERAL_PORTS.high} (used by outgoing connections), so a workload's port may already be taken: prefer a range below ${EPHEMERAL_PORTS.low}`,
          ["portRange"],
          "warning",
        );
      }
    }
  },
};
