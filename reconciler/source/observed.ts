// Wraps a ConfigSource so every fetch (remote refresh) and every compare-and-swap ref move
// (push in remote mode, ref update in local mode) is reported to LoopObservers: counted by
// /metrics, and turned into the "cannot push or fetch" alert fact. Changes no behaviour: results
// and errors pass through unchanged.
import type { BranchRole, LoopObserver } from "../contracts.js";
import type { ConfigSource } from "./types.js";

export function observeSource(
  source: ConfigSource,
  roleOf: (branch: string) => BranchRole,
  observers: readonly LoopObserver[],
): ConfigSource {
  const each = (fn: (o: LoopObserver) => void) => {
    for (const o of observers) fn(o);
  };
  const message = (err: unknown) => (err as Error)?.message ?? String(err);
  return {
    mode: source.mode,
    git: source.git,
    loadDir: source.loadDir,
    describe: source.describe,
    defaultBranch: () => source.defaultBranch(),
    tip: (branch) => source.tip(branch),
    watch: (onChange) => source.watch(onChange),
    close: () => source.close(),
    async refresh(branch) {
      if (source.mode !== "remote") return source.refresh(branch);
      try {
        const tip = await source.refresh(branch);
        each((o) => o.fetched(roleOf(branch), "ok"));
        return tip;
      } catch (err) {
        each((o) => o.fetched(roleOf(branch), "error", message(err)));
        throw err;
      }
    },
    async publish(branch, commit, expected) {
      try {
        const result = await source.publish(branch, commit, expected);
        each((o) => o.pushed(roleOf(branch), result));
        return result;
      } catch (err) {
        each((o) => o.pushed(roleOf(branch), "error", message(err)));
        throw err;
      }
    },
  };
}
