// Refuses to start a process on a host port something else already listens on. Without this a
// replica that cannot bind crashes and restarts forever while the health check, answered by the
// foreign listener, says "healthy": a failure hidden as success. Binding the wildcard address
// fails when any address of the port is taken, so one probe covers loopback-only listeners too.
import { createServer } from "node:net";
import { StartError } from "./driver.js";

/** Resolves when `port` is free on this host; rejects with a message naming the port otherwise. */
export function assertPortFree(port: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EADDRINUSE") {
        reject(
          new StartError(
            `cannot start ${what}: host port ${port} is already in use by a process berth did not start ` +
              "(stop it, or give this node a portRange that does not overlap other services)",
            { kind: "port-in-use", port },
          ),
        );
      } else reject(new Error(`cannot start ${what}: checking host port ${port}: ${err.message}`));
    });
    probe.listen({ port, host: "0.0.0.0", exclusive: true }, () => probe.close(() => resolve()));
  });
}
