// berth's own alerts end to end: a real config repo, the real reconciler and API, a real agent
// running the app as a real process, and two receivers on 127.0.0.1 — one that records, one that
// fails every first attempt (so each message needs a retry). An invalid commit and its repair, a
// failed deploy and its fix, a node lost and back, a crash loop and its fix: each gives exactly one
// firing and one resolved message per receiver, with the cause in the text and a valid HMAC; a
// crash loop sends nothing more while its restarts grow. A restart with an alert open
// fires nothing again. A receiver that hangs does not hold up publishing. A storm of 1,000 push
// failures gives one alert (plus reminders at its interval).
import { mkdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { AlertsView } from "../../reconciler/alerts/service.js";
import { requireTool } from "../helpers/tools.js";
import { waitFor } from "../reconciler/helpers.js";
import { type Bed, startBed } from "./bed.js";
import { hmacValid, type Received, type Recorder, startRecorder } from "./recorder.js";

const ok = requireTool("git");
const key = "hmac-key-for-the-recording-receiver";

let bed: Bed | undefined;
const recorders: Recorder[] = [];
afterEach(async () => {
  await bed?.close();
  bed = undefined;
  for (const r of recorders.splice(0)) await r.close();
});

async function recorder(mode: "ok" | "flaky" | "hold"): Promise<Recorder> {
  const r = await startRecorder(mode);
  recorders.push(r);
  return r;
}

const line = (m: Received) => `${m.body.notification} ${m.body.summary}`;
const of = (r: Recorder, rule: string) => r.messages.filter((m) => m.body.rule === rule);
/** n1's last report, for a wait that timed out. */
const n1Report = (b: Bed) =>
  `n1 reported ${JSON.stringify(b.reconciler.nodes().find((n) => n.node === "n1")?.status ?? null)}`;
/** n1's report says it converged on the document published for it now. */
const convergedOn = (b: Bed) =>
  b.reconciler
    .nodes()
    .find(
      (n) =>
        n.node === "n1" &&
        n.status?.phase === "converged" &&
        n.status.appliedHash === b.reconciler.desired("n1")?.hash,
    );

describe.skipIf(!ok)("alerts end to end", () => {
  it("invalid commit, failed deploy, node lost: one firing and one resolved each, with causes and valid HMAC", async () => {
    const rec = await recorder("ok");
    const flaky = await recorder("flaky");
    bed = await startBed({
      receivers: [
        { name: "rec", url: rec.url, signingKey: key },
        { name: "flaky", url: flaky.url, fromSecrets: true },
      ],
      rules: [
        "{ kind: node-lost, resolveAfter: 0s }",
        "{ kind: deploy-failed, resolveAfter: 1s }",
        "{ kind: invalid-commit }",
      ],
    });
    const b = bed;
    await b.startAgent();
    const converged = () => convergedOn(b);
    await waitFor("the app converged", converged, 60_000, () => n1Report(b));

    // 1. An invalid commit on the tracked branch, then its repair.
    await b.commitApp("invalid", "break the app");
    await waitFor("invalid-commit firing", () => of(rec, "invalid-commit").length === 1);
    const firing = of(rec, "invalid-commit")[0] as Received;
    expect(firing.body).toMatchObject({
      status: "firing",
      kind: "invalid-commit",
      subject: { branch: "main" },
      link: "https://berth.example.com/",
    });
    expect(firing.body.cause).toMatch(/apps\/web\.yaml:\d+:\d+: .*replicas/);
    await b.commitApp({ REPLY: "v1" }, "repair the app");
    await waitFor("invalid-commit resolved", () => of(rec, "invalid-commit").length === 2);

    // 2. A deploy that fails its health check (the old version keeps serving), then the fix.
    await b.commitApp({ REPLY: "v2", UNHEALTHY: "1" }, "deploy a broken version");
    await waitFor("deploy-failed firing", () => of(rec, "deploy-failed").length === 1, 60_000);
    const failed = of(rec, "deploy-failed")[0] as Received;
    expect(failed.body).toMatchObject({
      status: "firing",
      subject: { app: "web" },
      link: "https://berth.example.com/apps/web",
    });
    expect(failed.body.cause).toMatch(/^n1\/web-0: .*health/i);
    await b.commitApp({ REPLY: "v3" }, "fix the version");
    await waitFor("deploy-failed resolved", () => of(rec, "deploy-failed").length === 2, 60_000);
    await waitFor("the fix converged", converged, 60_000, () => n1Report(b));

    // 3. The node's agent goes away (its app keeps running), then comes back.
    await b.stopAgent();
    await waitFor("node-lost firing", () => of(rec, "node-lost").length === 1, 30_000);
    expect(of(rec, "node-lost")[0]?.body).toMatchObject({
      summary: "node n1 is lost",
      link: "https://berth.example.com/nodes/n1",
    });
    expect(of(rec, "node-lost")[0]?.body.cause).toMatch(/no contact from its agent since \d{4}-/);
    await b.startAgent();
    await waitFor("node-lost resolved", () => of(rec, "node-lost").length === 2, 30_000);
    await b.alerting.service.idle();

    expect(rec.messages.map(line)).toEqual([
      "firing the tip of main is invalid: nothing is published, the last good state stays served",
      "resolved the tip of main is valid again",
      "firing deploy of app web failed",
      "resolved app web deployed",
      "firing node n1 is lost",
      "resolved node n1 is back",
    ]);
    for (const m of rec.messages) expect(hmacValid(key, m)).toBe(true);
    expect(hmacValid("another key", rec.messages[0] as Received)).toBe(false);
    // Same messages on the flaky receiver, each after one failed attempt, none twice.
    await waitFor("flaky receiver caught up", () => flaky.messages.length === 6, 30_000);
    expect(flaky.messages.map(line).sort()).toEqual(rec.messages.map(line).sort());
    expect(flaky.attempts).toBe(12);
    expect(new Set(flaky.messages.map((m) => m.headers["x-berth-delivery"])).size).toBe(6);
    expect(flaky.messages[0]?.headers["x-berth-signature-256"]).toBeUndefined();
    // The fingerprint of a resolved message is its firing's.
    for (const rule of ["invalid-commit", "deploy-failed", "node-lost"]) {
      const [f, r] = of(rec, rule);
      expect(r?.body.fingerprint).toBe(f?.body.fingerprint);
    }
    // /metrics counts the deliveries and the retries.
    const metrics = await (await fetch(`${b.api.url}/metrics`)).text();
    expect(metrics).toContain('berth_alert_notifications_total{receiver="rec",result="delivered"} 6');
    expect(metrics).toContain('berth_alert_notifications_total{receiver="flaky",result="retried"} 6');
  }, 240_000);

  it("a crash loop: one firing naming the exit and its last line, nothing more while restarts grow, one resolved after the fix", async () => {
    const rec = await recorder("ok");
    bed = await startBed({
      receivers: [{ name: "rec", url: rec.url, signingKey: key }],
      rules: ["{ kind: crash-loop, resolveAfter: 1s }"],
    });
    const b = bed;
    await b.startAgent();
    const web = () =>
      b.reconciler
        .nodes()
        .find((n) => n.node === "n1")
        ?.status?.workloads.find((w) => w.app === "web");
    const converged = () => convergedOn(b);
    await waitFor("the app converged", converged, 60_000, () => n1Report(b));

    // A version that dies 200 ms after every start, before it listens: the agent restarts it with
    // a growing delay while v1 keeps serving.
    await b.commitApp(
      {
        REPLY: "v2",
        CRASH_AFTER_MS: "200",
        CRASH_BEFORE_LISTEN: "1",
        CRASH_MESSAGE: "panic: config file is invalid",
      },
      "deploy a version that crashes at start",
    );
    await waitFor("crash-loop firing", () => of(rec, "crash-loop").length === 1, 60_000);
    const firing = of(rec, "crash-loop")[0] as Received;
    expect(firing.body).toMatchObject({
      status: "firing",
      notification: "firing",
      kind: "crash-loop",
      subject: { app: "web" },
      summary: "app web is crash-looping",
      link: "https://berth.example.com/apps/web",
    });
    // The cause: where, the exit code and the line the app printed last.
    expect(firing.body.cause).toMatch(
      /^n1\/web-0: workload: exited with code 7 .*it printed: panic: config file is invalid/,
    );
    expect(hmacValid(key, firing)).toBe(true);

    // It keeps crashing: the restart count grows, the cause text changes (how long it ran), and
    // nothing is sent again (the fingerprint is rule + app, no count).
    const restartsAtFiring =
      (
        await waitFor("a crash-looping report", () => {
          const w = web();
          return w?.state === "crash-looping" ? w : undefined;
        })
      ).restarts ?? 0;
    await waitFor(
      "two more restarts",
      () => {
        const w = web();
        return w?.state === "crash-looping" && (w.restarts ?? 0) >= restartsAtFiring + 2;
      },
      90_000,
    );
    await b.alerting.service.evaluate();
    await b.alerting.service.idle();
    expect(rec.messages).toHaveLength(1);
    const open = (await (await fetch(`${b.api.url}/v1/alerts`)).json()) as AlertsView;
    expect(open.alerts).toMatchObject([
      { rule: "crash-loop", status: "firing", fingerprint: firing.body.fingerprint },
    ]);

    // The fix: a version that stays up; the alert closes once.
    await b.commitApp({ REPLY: "v3" }, "fix the crash");
    await waitFor("the fix converged", converged, 60_000, () => n1Report(b));
    await waitFor("crash-loop resolved", () => of(rec, "crash-loop").length === 2, 30_000);
    await b.alerting.service.evaluate();
    await b.alerting.service.idle();
    expect(rec.messages.map(line)).toEqual([
      "firing app web is crash-looping",
      "resolved app web no longer crash-loops",
    ]);
    const resolved = rec.messages[1] as Received;
    expect(resolved.body.fingerprint).toBe(firing.body.fingerprint);
    expect(resolved.body.cause).toMatch(/panic: config file is invalid/);
    expect(hmacValid(key, resolved)).toBe(true);
  }, 240_000);

  it("a restart with an open alert fires nothing again; the repair after it resolves once", async () => {
    const rec = await recorder("ok");
    bed = await startBed({
      receivers: [{ name: "rec", url: rec.url, signingKey: key }],
      rules: ["{ kind: invalid-commit }"],
    });
    const b = bed;
    await b.commitApp("invalid", "break the app");
    await waitFor("firing", () => rec.messages.length === 1);
    const before = (await (await fetch(`${b.api.url}/v1/alerts`)).json()) as AlertsView;
    expect(before.alerts).toMatchObject([{ rule: "invalid-commit", status: "firing" }]);

    await b.restartReconciler();
    await b.reconciler.idle();
    await b.alerting.service.evaluate();
    await b.alerting.service.idle();
    const after = (await (await fetch(`${b.api.url}/v1/alerts`)).json()) as AlertsView;
    expect(after.alerts).toMatchObject([
      { rule: "invalid-commit", status: "firing", fingerprint: before.alerts[0]?.fingerprint },
    ]);
    expect(rec.messages).toHaveLength(1);

    await b.commitApp({ REPLY: "v1" }, "repair");
    await waitFor("resolved", () => rec.messages.length === 2);
    expect(rec.messages.map(line)).toEqual([
      "firing the tip of main is invalid: nothing is published, the last good state stays served",
      "resolved the tip of main is valid again",
    ]);
    // The state lives on the alerts branch of the config repo; delivered messages leave its outbox.
    const state = () => JSON.parse(b.repo.git("show", "berth/alerts:alerts.json"));
    await waitFor("outbox emptied on the branch", () => state().outbox.length === 0);
    expect(state()).toMatchObject({ version: 1, alerts: [], outbox: [] });
  }, 120_000);

  it("a receiver that hangs does not hold up publishing", async () => {
    const hold = await recorder("hold");
    bed = await startBed({
      receivers: [{ name: "hold", url: hold.url }],
      rules: ["{ kind: invalid-commit }"],
    });
    const b = bed;
    const published = () => b.reconciler.published().commit;
    await b.commitApp("invalid", "break the app");
    await waitFor("the receiver holds the firing message", () => hold.held() === 1);
    const c = await b.commitApp({ REPLY: "v9" }, "a valid commit while the receiver hangs");
    await waitFor("the valid commit published", () => published() === c);
    expect(hold.held()).toBeGreaterThanOrEqual(1);
    expect(hold.messages).toHaveLength(0);
    hold.release();
    await waitFor("both messages delivered", () => hold.messages.length === 2);
    expect(hold.messages.map((m) => m.body.notification)).toEqual(["firing", "resolved"]);
  }, 120_000);

  it("1,000 push failures in a burst make one alert, reminders at its interval, and one resolved", async () => {
    const rec = await recorder("ok");
    bed = await startBed({
      receivers: [{ name: "rec", url: rec.url }],
      rules: ["{ kind: git-trouble, for: 0s, resolveAfter: 1s, repeatInterval: 1s }"],
    });
    const b = bed;
    const started = Date.now();
    for (let i = 0; i < 1000; i++) {
      // A failing remote: every push fails, a success every 10th (flapping), each message different.
      b.alerting.observer.pushed("desired", i % 10 === 9 ? "ok" : "error", `push ${i} failed after ${i} ms`);
      if (i % 50 === 0) await new Promise((r) => setTimeout(r, 100));
    }
    b.alerting.observer.pushed("desired", "ok");
    const burstSeconds = (Date.now() - started) / 1000;
    await waitFor("resolved", () => rec.messages.some((m) => m.body.notification === "resolved"), 30_000);
    await b.alerting.service.idle();
    const kinds = rec.messages.map((m) => m.body.notification);
    expect(kinds[0]).toBe("firing");
    expect(kinds.filter((k) => k === "firing")).toHaveLength(1);
    expect(kinds.filter((k) => k === "resolved")).toHaveLength(1);
    expect(kinds.at(-1)).toBe("resolved");
    // Reminders only at the 1 s interval while it held (plus the resolve window).
    expect(kinds.filter((k) => k === "reminder").length).toBeLessThanOrEqual(Math.ceil(burstSeconds + 1) + 1);
    expect(new Set(rec.messages.map((m) => m.body.fingerprint)).size).toBe(1);
    expect(rec.messages[0]?.body.summary).toBe("the reconciler cannot push the desired branch");
  }, 120_000);

  it("a stuck reconciler (degraded, issue 14) is a git-trouble alert until it recovers by itself", async () => {
    const rec = await recorder("ok");
    bed = await startBed({
      receivers: [{ name: "rec", url: rec.url }],
      rules: ["{ kind: git-trouble, for: 0s, resolveAfter: 0s }"],
      degradedAfterMs: 500,
    });
    const b = bed;
    const first = b.reconciler.published().commit;
    // A lock kept fresh, as a hung git process holds it: never judged a crash's leftover.
    const lock = join(b.repo.dir, ".git", "refs", "heads", "berth", "desired.lock");
    mkdirSync(dirname(lock), { recursive: true });
    writeFileSync(lock, "");
    const keep = setInterval(() => {
      const now = new Date();
      utimesSync(lock, now, now);
    }, 100);
    let c: string;
    try {
      c = await b.commitApp({ REPLY: "v2" }, "a commit that cannot be published yet");
      await waitFor(
        "a degraded alert",
        () => rec.messages.some((m) => m.body.summary.startsWith("the reconciler is degraded")),
        60_000,
      );
      expect(b.reconciler.published().commit).toBe(first);
    } finally {
      clearInterval(keep);
      rmSync(lock, { force: true });
    }
    await waitFor("published once the lock is gone", () => b.reconciler.published().commit === c, 60_000);
    const degraded = (m: Received) =>
      m.body.summary.includes("degraded") || m.body.summary.includes("recovered");
    await waitFor(
      "every degraded alert resolved",
      () => {
        const ms = rec.messages.filter(degraded);
        const firing = ms.filter((m) => m.body.notification === "firing").map((m) => m.body.fingerprint);
        const resolved = ms.filter((m) => m.body.notification === "resolved").map((m) => m.body.fingerprint);
        return firing.length > 0 && firing.every((f) => resolved.includes(f));
      },
      60_000,
    );
    const fired = rec.messages.filter((m) => degraded(m) && m.body.notification === "firing");
    // The cause is the reconciler's own words (the same as /healthz and berth status).
    expect(fired.map((m) => m.body.summary)).toContain("the reconciler is degraded: publish-behind");
    expect(JSON.stringify(fired.map((m) => m.body))).toMatch(
      /agents run the older config|publishing has failed/,
    );
  }, 120_000);
});
