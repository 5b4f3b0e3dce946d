// The operations page in a real browser (Debian's chromium via playwright-core) against a real
// `berth serve` and a real `berth agent` running the apps as processes: the admin token is
// required; a commit whose app never becomes healthy shows that app first with its cause, live;
// rolling back turns it healthy on the open page without a reload; the app, node and history pages
// show their content; a process killed by hand shows on the open node page and, in another tab,
// in the open overview's Drift repaired column as drift repaired;
// unknown apps, nodes and generations get a 404 page with a way back. With
// BERTH_SCREENSHOTS=DIR the screenshots of each view are written there (docs/ holds the ones the
// README shows).
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runBerth } from "../helpers/berth-cli.js";
import { CHROMIUM, launchBrowser, type RealBrowser } from "../helpers/browser.js";
import { makeTempDir } from "../helpers/git-repo.js";
import { randomPortBase } from "../helpers/ports.js";
import { requireTool } from "../helpers/tools.js";
import { type Cluster, converged, startCluster } from "./helpers.js";

/** The little of the DOM the page functions below use (this project compiles without the DOM library). */
interface El {
  id: string;
  dataset: Record<string, string | undefined>;
  textContent: string | null;
}
interface Doc {
  querySelector(selector: string): El | null;
  querySelectorAll(selector: string): ArrayLike<El>;
  getElementById(id: string): El | null;
}

const ok = requireTool("git") && requireTool(CHROMIUM, ["--version"]);
const WAIT = 120_000;

describe.skipIf(!ok)("operations page in a browser (real berth serve, real agent)", () => {
  let c: Cluster;
  let b: RealBrowser;
  let page: Page;
  let first: string;
  let broken: string;
  const shots = process.env.BERTH_SCREENSHOTS || makeTempDir("berth-ui-shots-");

  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    c = await startCluster(randomPortBase());
    first = c.repo.git("rev-parse", "HEAD");
    await converged(c, first, WAIT);
    b = await launchBrowser();
    const context = b.browser.contexts()[0] ?? (await b.browser.newContext());
    page = await context.newPage();
    await page.setViewportSize({ width: 1360, height: 900 });
    page.setDefaultTimeout(WAIT);
  }, 4 * WAIT);

  afterAll(async () => {
    await b?.close();
    await c?.cleanup();
  }, WAIT);

  it(
    "asks for the admin token and logs in with it",
    async () => {
      const res = await page.goto(`${c.url}/`);
      expect(res?.status()).toBe(401);
      await expect(page.locator("h1").textContent()).resolves.toBe("Log in to berth");
      await expect(page.locator("main").textContent()).resolves.toContain("--api-token-file");
      await page.screenshot({ path: join(shots, "ui-login.png") });
      await page.fill("#token", "not-the-token");
      await page.click("button[type=submit]");
      await page.waitForSelector("text=That is not this reconciler's admin token.");
      await page.fill("#token", c.adminToken);
      await page.click("button[type=submit]");
      await page.waitForSelector("h1:text('Overview')");
      const cookies = await page.context().cookies(c.url);
      const session = cookies.find((k) => k.name === "berth_session");
      expect(session).toMatchObject({ httpOnly: true, sameSite: "Strict", secure: false });
      await page.waitForSelector("#live[data-state=open]");
      expect(await page.locator("#apps tbody tr").count()).toBe(2);
    },
    WAIT,
  );

  it(
    "shows a commit whose app never becomes healthy first, with its cause, without a reload",
    async () => {
      await page.evaluate(() => {
        (globalThis as unknown as { sameDocument: boolean }).sameDocument = true;
      });
      const text = c.repo.git("show", "HEAD:apps/hello.yaml");
      broken = await c.repo.commit(
        { "apps/hello.yaml": text.replace("path: /healthz", "path: /does-not-exist") },
        "hello: health check on a path it does not serve",
      );
      // The open page updates itself: hello moves to the top as failing, with the cause in words.
      const first = page.locator("#apps tbody tr").first();
      await page.waitForFunction(() => {
        const row = (globalThis as unknown as { document: Doc }).document.querySelector("#apps tbody tr");
        return row?.id === "app-hello" && row.dataset.attention === "failing";
      });
      await expect(first.locator("td.err").textContent()).resolves.toMatch(/404|never became healthy/);
      await expect(first.locator("td").nth(0).textContent()).resolves.toContain("failing");
      // Health stays apart from convergence: the old version still serves, healthy (the replicas
      // take turns retrying, so wait for a moment when both old instances answer).
      await page.waitForFunction(() => {
        const cells = (globalThis as unknown as { document: Doc }).document.querySelectorAll("#app-hello td");
        return cells[0]?.textContent?.includes("failing") && cells[1]?.textContent?.includes("healthy 2/2");
      });
      await expect(page.locator("#tip").textContent()).resolves.toContain(broken.slice(0, 7));
      expect(
        await page.evaluate(() => (globalThis as unknown as { sameDocument?: boolean }).sameDocument),
      ).toBe(true);
      await page.screenshot({ path: join(shots, "ui-overview.png"), fullPage: true });

      // Without JavaScript, the server-rendered page says the same.
      const plain = await page.context().browser()!.newContext({ javaScriptEnabled: false });
      await plain.addCookies(await page.context().cookies(c.url));
      const p2 = await plain.newPage();
      await p2.goto(`${c.url}/`);
      await expect(p2.locator("#apps tbody tr").first().getAttribute("id")).resolves.toBe("app-hello");
      await plain.close();
    },
    WAIT,
  );

  it(
    "shows the app page: instances per node, operation history, the plan entries, where logs are",
    async () => {
      const p = await page.context().newPage();
      await p.setViewportSize({ width: 1360, height: 900 });
      await p.goto(`${c.url}/apps/hello`);
      await p.waitForSelector("#live[data-state=open]");
      const rows = p.locator("#instances tr");
      await expect(rows.count()).resolves.toBe(2);
      const cells = await rows.first().locator("td, th").allTextContents();
      expect(cells[0]).toBe("local");
      expect(cells[1]).toBe("hello-0");
      expect(Number(cells[3])).toBeGreaterThan(1000);
      await expect(p.locator("#operations").textContent()).resolves.toMatch(/failed|backoff/);
      await expect(p.locator("main").textContent()).resolves.toContain("hello: health check on a path");
      await expect(p.locator("#logs").textContent()).resolves.toContain("berth logs hello");
      // The app's output streams in (GET /v1/apps/hello/logs with the session cookie), tagged.
      await p.waitForFunction(
        () =>
          /local\/hello-[01]-[ab] {2}\S/.test(
            (globalThis as unknown as { document: Doc }).document.getElementById("log-lines")?.textContent ??
              "",
          ),
        undefined,
        { timeout: WAIT },
      );
      await p.screenshot({ path: join(shots, "ui-app.png"), fullPage: true });
      await p.close();
    },
    WAIT,
  );

  it(
    "turns healthy live after a rollback, without a reload",
    async () => {
      const out = await runBerth(["--repo", c.repo.dir, "rollback", first], { timeoutMs: WAIT });
      expect(out.code, out.stderr).toBe(0);
      const tip = c.repo.git("rev-parse", "HEAD");
      const started = Date.now();
      await page.waitForFunction(
        () =>
          (globalThis as unknown as { document: Doc }).document.getElementById("app-hello")?.dataset
            .attention === "ok",
      );
      const row = page.locator("#app-hello");
      await expect(row.locator("td").nth(0).textContent()).resolves.toContain("converged");
      await expect(row.locator("td").nth(1).textContent()).resolves.toContain("healthy 2/2");
      await expect(page.locator("#tip").textContent()).resolves.toContain(tip.slice(0, 7));
      expect(
        await page.evaluate(() => (globalThis as unknown as { sameDocument?: boolean }).sameDocument),
      ).toBe(true);
      expect(Number(await page.getAttribute("body", "data-updates"))).toBeGreaterThan(0);
      await converged(c, tip, WAIT);
      expect(Date.now() - started).toBeLessThan(WAIT);
    },
    WAIT,
  );

  it(
    "shows the node page from the overview's link; a process killed by hand shows up there as drift repaired, live",
    async () => {
      await page.goto(`${c.url}/`);
      await expect(page.locator("#node-local td").nth(5).textContent()).resolves.toBe("0");
      await page.click("#node-local th a");
      await page.waitForSelector("h1:text('Node local')");
      expect(new URL(page.url()).pathname).toBe("/nodes/local");
      await page.waitForSelector("#live[data-state=open]");
      await expect(page.locator("#node-local td").first().textContent()).resolves.toContain("alive");
      const facts = await page.locator("dl.facts").textContent();
      expect(facts).toMatch(/Liveness\s*alive since \d{4}-/);
      expect(facts).toMatch(/Last seen\s*\d+ s ago/);
      await expect(page.locator("#drift").textContent()).resolves.toBe("none since the agent started");
      const rows = page.locator("#instances tr");
      await expect(rows.count()).resolves.toBe(3);
      const cells = await rows.first().locator("td, th").allTextContents();
      expect(cells.slice(0, 2)).toEqual(["hello", "hello-0"]);
      expect(cells[4]).toBe("running");
      expect(cells[5]).toBe("healthy");
      await page.evaluate(() => {
        (globalThis as unknown as { sameDocument: boolean }).sameDocument = true;
      });
      // A second tab keeps the overview open (same session): its Drift repaired column must
      // follow too, live, without a reload.
      const overview = await page.context().newPage();
      overview.setDefaultTimeout(WAIT);
      await overview.goto(`${c.url}/`);
      await overview.waitForSelector("#live[data-state=open]");
      const overviewDrift = overview.locator("#node-local td").nth(5);
      await expect(overviewDrift.textContent()).resolves.toBe("0");
      await overview.evaluate(() => {
        (globalThis as unknown as { sameDocument: boolean }).sameDocument = true;
      });

      // Someone kills an instance by hand: the agent restarts it and the open page says so.
      const record = readdirSync(join(c.stateDir, "processes")).find((f) =>
        /^berth-hello-0-[ab]\.json$/.test(f),
      );
      const { pid } = JSON.parse(readFileSync(join(c.stateDir, "processes", record as string), "utf8")) as {
        pid: number;
      };
      process.kill(pid, "SIGKILL");
      await page.waitForFunction(() =>
        (globalThis as unknown as { document: Doc }).document
          .getElementById("drift")
          ?.textContent?.startsWith("1 since the agent started"),
      );
      await expect(page.locator("#drift code").textContent()).resolves.toBe(
        "restart hello-0: process exited (killed by SIGKILL)",
      );
      await expect(page.locator("#node-local td").nth(5).textContent()).resolves.toMatch(
        /^1 last \d+ s ago$/,
      );
      // The overview tab: the count, when, and the repair in the tooltip; the same document.
      await overview.waitForFunction(() =>
        /^1 last \d+ s ago$/.test(
          (globalThis as unknown as { document: Doc }).document.querySelectorAll("#node-local td")[5]
            ?.textContent ?? "",
        ),
      );
      await expect(overviewDrift.locator("span[title]").getAttribute("title")).resolves.toBe(
        "last: restart hello-0: process exited (killed by SIGKILL)",
      );
      expect(
        await overview.evaluate(() => (globalThis as unknown as { sameDocument?: boolean }).sameDocument),
      ).toBe(true);
      await overview.close();
      const hello0 = await page.locator("#instances tr").first().locator("td, th").allTextContents();
      expect(hello0[7]).toBe("1");
      expect(hello0[9]).toMatch(/^last exit: killed by SIGKILL \d+ s ago/);
      expect(
        await page.evaluate(() => (globalThis as unknown as { sameDocument?: boolean }).sameDocument),
      ).toBe(true);
      await page.screenshot({ path: join(shots, "ui-node.png"), fullPage: true });
      // berth status says the same.
      const tokenFile = join(makeTempDir("berth-ui-token-"), "admin");
      writeFileSync(tokenFile, c.adminToken, { mode: 0o600 });
      const status = await runBerth([
        "--repo",
        c.repo.dir,
        "status",
        "--url",
        c.url,
        "--api-token-file",
        tokenFile,
      ]);
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toMatch(
        /local: drift repaired 1, last \d+s ago: restart hello-0: process exited \(killed by SIGKILL\)/,
      );
    },
    WAIT,
  );

  it(
    "lists the history with plans, forge-free commits and the exact rollback commands",
    async () => {
      await page.goto(`${c.url}/history`);
      const rows = page.locator("#history-rows tr");
      await expect(rows.count()).resolves.toBe(3);
      await expect(rows.first().textContent()).resolves.toContain("serving");
      await expect(rows.nth(1).locator("code.cmd").textContent()).resolves.toBe(`berth rollback ${broken}`);
      await expect(rows.nth(2).locator("code.cmd").textContent()).resolves.toBe(`berth rollback ${first}`);
      await page.screenshot({ path: join(shots, "ui-history.png"), fullPage: true });
      await rows.nth(1).locator("th a").click();
      await page.waitForSelector("h1:text('Generation #2')");
      const plan = await page.locator("pre.plan").textContent();
      expect(plan).toContain("workload hello-0");
      expect(plan).toContain("Plan: ");
      await page.screenshot({ path: join(shots, "ui-generation.png"), fullPage: true });
    },
    WAIT,
  );

  it(
    "answers unknown apps and generations with a 404 page and a way back; logging out locks the page",
    async () => {
      const app = await page.goto(`${c.url}/apps/no-such-app`);
      expect(app?.status()).toBe(404);
      await page.click("text=← Overview");
      await page.waitForSelector("h1:text('Overview')");
      const node = await page.goto(`${c.url}/nodes/no-such-node`);
      expect(node?.status()).toBe(404);
      await expect(page.locator("main").textContent()).resolves.toContain("No node named “no-such-node”");
      const gen = await page.goto(`${c.url}/history/999`);
      expect(gen?.status()).toBe(404);
      await expect(page.locator("main a").getAttribute("href")).resolves.toBe("/history");
      await page.goto(`${c.url}/`);
      await page.click("text=Log out");
      await page.waitForSelector("h1:text('Log in to berth')");
      expect((await page.goto(`${c.url}/`))?.status()).toBe(401);
    },
    WAIT,
  );
});
