// The least ApiBackend the API server needs when only webhooks are exercised: nothing is
// published, no node is known, triggers are dropped.
import type { ApiBackend } from "../../reconciler/contracts.js";

export function idleBackend(overrides: Partial<ApiBackend> = {}): ApiBackend {
  return {
    trackedBranch: () => "main",
    published: () => ({ generation: 0, commit: null, desiredCommit: null }),
    desired: () => undefined,
    waitForChange: async () => undefined,
    tokenSha256: () => undefined,
    reportStatus: () => undefined,
    nodes: () => [],
    trigger: () => undefined,
    plan: async () => {
      throw new Error("this backend serves no plans");
    },
    ...overrides,
  };
}
