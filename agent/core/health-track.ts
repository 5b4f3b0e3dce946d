// Turns single health-check results into a health state with the app's thresholds: healthy after
// `healthyThreshold` passes in a row, unhealthy after `unhealthyThreshold` failures in a row,
// otherwise unchanged. Pure.
import type { Workload } from "../../schema/index.js";
import type { Health } from "./planner.js";

export interface HealthRecord {
  health: Health;
  okStreak: number;
  failStreak: number;
  /** What the last check said, e.g. "HTTP 200" or "connect ECONNREFUSED". */
  detail: string;
}

export function recordCheck(
  prev: HealthRecord | undefined,
  ok: boolean,
  detail: string,
  thresholds: Pick<Workload["health"], "healthyThreshold" | "unhealthyThreshold">,
): HealthRecord {
  const okStreak = ok ? (prev?.okStreak ?? 0) + 1 : 0;
  const failStreak = ok ? 0 : (prev?.failStreak ?? 0) + 1;
  let health: Health = prev?.health ?? "unknown";
  if (okStreak >= thresholds.healthyThreshold) health = "healthy";
  else if (failStreak >= thresholds.unhealthyThreshold) health = "unhealthy";
  return { health, okStreak, failStreak, detail };
}

/** A record for an instance an action just saw become healthy. */
export const healthyNow = (detail: string): HealthRecord => ({
  health: "healthy",
  okStreak: 1,
  failStreak: 0,
  detail,
});

/** A record for an instance an action just saw fail its health check to the end. */
export const unhealthyNow = (detail: string): HealthRecord => ({
  health: "unhealthy",
  okStreak: 0,
  failStreak: 1,
  detail,
});
