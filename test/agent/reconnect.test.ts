// The agent and an unreliable reconciler: a `reconciler-unreachable` problem clears on the first
// call that works (not a long-poll later), and with several reconciler URLs the agent moves to
// the next when one dies, keeps its workloads (same document, nothing restarted), takes new
// documents from the one that answers, and stays there when the first comes back.
import { afterEach, describe, expect, it } from "vitest";
import { appWorkload, type Harness, hit, makeHarness } from "./helpers/agent-harness.js";
import { desiredDoc } from "./helpers/docs.js";
import { type FakeReconciler, startFakeReconciler } from "./helpers/fake-reconciler.js";
import { freePortPair } from "./helpers/ports.js";
import { waitFor } from "./helpers/wait.js";

let h: Harness;
const others: FakeReconciler[] = [];
afterEach(async () => {
  await h?.cleanup();
  for (const r of others.splice(0)) await r.close();
});

describe("agent ↔ reconciler reachability", () => {
  it("clears reconciler-unreachable on the first call that works, not a long-poll later", async () => {
    h = await makeHarness();
    const p = await freePortPair();
    const doc = desiredDoc(h.node, [appWorkload({ hostPort: p, reply: "v1" })]);
    h.rec.publish(doc);
    // Long-polls of 30 s: were the problem cleared only when a poll ends, it would take that long.
    const agent = await h.start({ pollWaitSeconds: 30 });
    await waitFor("converged", () => h.rec.latest()?.phase === "converged");
    await h.rec.kill();
    await waitFor("unreachable", () =>
      agent.status().problems?.some((x) => x.code === "reconciler-unreachable"),
    );
    const before = h.rec.statuses.length;
    await h.rec.revive();
    const back = Date.now();
    // The first retry comes within the backoff (1–5 s here); well under the 30 s wait.
    await waitFor(
      "a report since the revival without the problem",
      () => {
        const since = h.rec.statuses.slice(before);
        return since.length > 0 && !since.at(-1)?.problems && since.at(-1)?.phase === "converged";
      },
      20_000,
    );
    expect(agent.status().problems).toBeUndefined();
    expect(Date.now() - back).toBeLessThan(20_000);
  });

  it("fails over to the next reconciler without restarting anything, and stays there", async () => {
    h = await makeHarness();
    const b = await startFakeReconciler({ node: h.node, token: h.rec.token });
    others.push(b);
    const p = await freePortPair();
    const v1 = desiredDoc(h.node, [appWorkload({ hostPort: p, reply: "v1" })]);
    h.rec.publish(v1);
    b.publish(v1);
    const agent = await h.start({ url: [h.rec.url, b.url] });
    await waitFor("converged via the first", () => h.rec.latest()?.phase === "converged");
    expect(b.gets).toBe(0);
    const pid = (await hit(p))?.pid;

    await h.rec.kill();
    await waitFor("status via the second", () => b.latest()?.phase === "converged");
    expect(agent.status()).toMatchObject({ phase: "converged", appliedHash: v1.hash });
    expect((await hit(p))?.pid).toBe(pid);
    expect(h.events.filter((e) => e.type === "action-started")).toHaveLength(1);

    // The second one publishes: the agent applies it from there.
    const v2 = desiredDoc(h.node, [appWorkload({ hostPort: p, reply: "v2" })]);
    b.publish(v2);
    await waitFor("v2 applied via the second", () => b.latest()?.appliedHash === v2.hash);
    expect((await hit(p + 1))?.body).toBe("v2");

    // The first comes back: the agent stays with the one that works.
    await h.rec.revive();
    const getsBefore = h.rec.gets;
    const polls = b.gets;
    await waitFor("two more polls on the second", () => b.gets >= polls + 2, 30_000);
    expect(h.rec.gets).toBe(getsBefore);
  });
});
