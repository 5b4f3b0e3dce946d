// The bundled examples: every YAML file starts with a schema line that points at the schema of
// its kind, and the single-host apps really run with nothing but Node.js (PORT from the env,
// /healthz, their pages).
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { parseText } from "../../core/config/parse.js";
import { freePort } from "../helpers/ports.js";

const examples = fileURLToPath(new URL("../../examples", import.meta.url));

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? yamlFiles(p) : /\.ya?ml$/.test(f) ? [p] : [];
  });
}

describe("examples", () => {
  // The two config examples (examples/ also holds CI and systemd files, which are not berth config).
  const files = ["single-host", "multi-node"].flatMap((name) => yamlFiles(join(examples, name)));

  it("has YAML files in both examples", () => {
    expect(files.filter((f) => f.includes("/single-host/")).length).toBeGreaterThanOrEqual(5);
    expect(files.filter((f) => f.includes("/multi-node/")).length).toBeGreaterThanOrEqual(10);
  });

  it.each(files.map((f) => [f.slice(examples.length + 1), f]))(
    "%s starts with a schema line for its kind",
    (_name, file) => {
      const text = readFileSync(file as string, "utf8");
      const first = text.split("\n", 1)[0] as string;
      const m = /^# yaml-language-server: \$schema=(\S+)$/.exec(first);
      expect(m, first).not.toBeNull();
      const schemaPath = resolve(dirname(file as string), m?.[1] as string);
      expect(existsSync(schemaPath), schemaPath).toBe(true);
      const kind = (parseText(text).docs[0] as { kind: string }).kind;
      expect(schemaPath.endsWith(`/schema/${kind.toLowerCase()}.schema.json`)).toBe(true);
    },
  );
});

describe("single-host example apps run with only Node.js", () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
  });

  async function getWithDeadline(
    url: string,
    deadlineMs = 30_000,
  ): Promise<{ status: number; body: string }> {
    const until = Date.now() + deadlineMs;
    for (;;) {
      try {
        const res = await fetch(url);
        return { status: res.status, body: await res.text() };
      } catch (err) {
        if (Date.now() > until) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  async function start(app: string, args: string[]): Promise<number> {
    const port = await freePort();
    const child = spawn(process.execPath, args, {
      cwd: join(examples, "single-host/apps", app),
      env: { ...process.env, PORT: String(port), GREETING: "Hello from the test" },
      stdio: "ignore",
    });
    children.push(child);
    return port;
  }

  it("hello: a JSON API with /healthz", async () => {
    const port = await start("hello", ["server.mjs"]);
    expect(await getWithDeadline(`http://127.0.0.1:${port}/healthz`)).toEqual({ status: 200, body: "ok\n" });
    const root = await getWithDeadline(`http://127.0.0.1:${port}/`);
    expect(JSON.parse(root.body)).toMatchObject({ message: "Hello from the test", app: "hello" });
    const echo = await getWithDeadline(`http://127.0.0.1:${port}/echo?text=hi`);
    expect(JSON.parse(echo.body)).toEqual({ text: "hi" });
  });

  it("site: static files from public/, no escaping the folder", async () => {
    const port = await start("site", ["server.mjs", "public"]);
    expect((await getWithDeadline(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    const page = await getWithDeadline(`http://127.0.0.1:${port}/`);
    expect(page.status).toBe(200);
    expect(page.body).toContain("<h1>It works</h1>");
    expect((await getWithDeadline(`http://127.0.0.1:${port}/../../site.yaml`)).status).toBe(404);
    expect((await getWithDeadline(`http://127.0.0.1:${port}/%2e%2e/server.mjs`)).status).toBe(404);
    expect((await getWithDeadline(`http://127.0.0.1:${port}/%E0%A4%A`)).status).toBe(400);
    expect((await getWithDeadline(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  });
});
