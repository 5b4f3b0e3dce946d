// The runtime drivers an agent uses, made on first need from the runtimes its documents name (a
// node normally has one). Listing asks every driver made so far, so instances of a runtime the
// current document no longer uses are still seen and removed as orphans. An injected driver
// (berth up, tests) serves every runtime.
import type { Runtime } from "../../schema/index.js";
import type { ObservedInstance } from "../core/actions.js";
import type { RuntimeDriver } from "../runtime/driver.js";

export interface DriverSet {
  /** The driver that runs workloads of `runtime` (made now if needed). */
  forRuntime(runtime: Runtime): RuntimeDriver;
  /** Makes the drivers of these runtimes (so their instances are listed, e.g. adopted processes). */
  ensure(runtimes: Iterable<Runtime>): void;
  /** Every instance of every driver, tagged with the runtime that owns it. Throws when a driver cannot list. */
  list(): Promise<ObservedInstance[]>;
  close(opts?: { stopAll?: boolean }): Promise<void>;
}

export function createDriverSet(opts: {
  injected?: RuntimeDriver;
  make: (runtime: Runtime) => RuntimeDriver;
}): DriverSet {
  const made = new Map<Runtime, RuntimeDriver>();
  const forRuntime = (runtime: Runtime): RuntimeDriver => {
    if (opts.injected) return opts.injected;
    let d = made.get(runtime);
    if (!d) {
      d = opts.make(runtime);
      made.set(runtime, d);
    }
    return d;
  };
  const all = (): RuntimeDriver[] => (opts.injected ? [opts.injected] : [...made.values()]);
  return {
    forRuntime,
    ensure(runtimes) {
      for (const r of runtimes) forRuntime(r);
    },
    async list() {
      const lists = await Promise.all(
        all().map(async (d) => {
          try {
            return (await d.list()).map((i): ObservedInstance => ({ ...i, runtime: d.kind }));
          } catch (e) {
            throw new Error(`listing ${d.kind} instances failed: ${(e as Error).message}`);
          }
        }),
      );
      return lists.flat();
    },
    async close(closeOpts) {
      await Promise.all(all().map((d) => d.close(closeOpts)));
    },
  };
}
