// The runtime drivers an agent uses, made on first need from the runtimes its documents name (a
// node normally has one; a driver's module is loaded only then, which keeps an agent of processes
// small). Listing asks every driver made so far, so instances of a runtime the current document no
// longer uses are still seen and removed as orphans. An injected driver (berth up, tests) serves
// every runtime.
import type { Runtime } from "../../schema/index.js";
import type { ObservedInstance } from "../core/actions.js";
import type { RuntimeDriver } from "../runtime/driver.js";

export interface DriverSet {
  /** The driver that runs workloads of `runtime`; ensure() must have made it. */
  forRuntime(runtime: Runtime): RuntimeDriver;
  /** Makes the drivers of these runtimes (so their instances are listed, e.g. adopted processes). */
  ensure(runtimes: Iterable<Runtime>): Promise<void>;
  /** Every instance of every driver, tagged with the runtime that owns it. Throws when a driver cannot list. */
  list(): Promise<ObservedInstance[]>;
  close(opts?: { stopAll?: boolean }): Promise<void>;
}

export function createDriverSet(opts: {
  injected?: RuntimeDriver;
  make: (runtime: Runtime) => Promise<RuntimeDriver>;
}): DriverSet {
  const made = new Map<Runtime, RuntimeDriver>();
  const making = new Map<Runtime, Promise<RuntimeDriver>>();
  const forRuntime = (runtime: Runtime): RuntimeDriver => {
    if (opts.injected) return opts.injected;
    const d = made.get(runtime);
    if (!d) throw new Error(`no ${runtime} driver was made (this is a bug)`);
    return d;
  };
  const ensureOne = (runtime: Runtime): Promise<RuntimeDriver> => {
    let p = making.get(runtime);
    if (!p) {
      p = opts.make(runtime).then((d) => {
        made.set(runtime, d);
        return d;
      });
      making.set(runtime, p);
    }
    return p;
  };
  const all = (): RuntimeDriver[] => (opts.injected ? [opts.injected] : [...made.values()]);
  return {
    forRuntime,
    async ensure(runtimes) {
      if (opts.injected) return;
      await Promise.all([...runtimes].map(ensureOne));
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
