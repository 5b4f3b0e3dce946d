// Host ports for test workloads: each workload owns two consecutive ports (slots a and b).
import { createServer } from "node:net";

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

/** A port p such that p and p+1 were both free on 127.0.0.1 a moment ago. */
export async function freePortPair(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const p = 30000 + 2 * Math.floor(Math.random() * 14000);
    if ((await canBind(p)) && (await canBind(p + 1))) return p;
  }
  throw new Error("no free pair of ports found");
}
