// Real podman for tests: builds throwaway busybox images locally (no registry here), runs podman
// commands, and removes what a test created. Images get a unique repository name per call, so
// tests running in parallel never remove each other's images.
//   :1      busybox httpd on 8080 serving "v1" at / and "ok" at /healthz
//   :2      the same serving "v2"
//   :broken sleeps forever and never listens (a never-healthy release)
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";

export interface TestImages {
  v1: string;
  v2: string;
  broken: string;
  /** Port the httpd images listen on inside the container. */
  port: number;
  remove(): Promise<void>;
}

export async function podman(
  ...args: string[]
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  return podmanIn({}, ...args);
}

/** podman with extra environment, e.g. a private store (test/helpers/netns.ts usePodmanStore). */
export async function podmanIn(
  env: Record<string, string>,
  ...args: string[]
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const r = await execa("podman", args, { reject: false, stdin: "ignore", env });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

async function build(
  dir: string,
  tag: string,
  files: Record<string, string>,
  cmd: string[],
  env: Record<string, string>,
): Promise<void> {
  const ctx = join(dir, tag.replace(/[^a-z0-9]/gi, "_"));
  mkdirSync(join(ctx, "www"), { recursive: true });
  copyFileSync("/bin/busybox", join(ctx, "busybox"));
  for (const [name, body] of Object.entries(files)) writeFileSync(join(ctx, "www", name), body);
  writeFileSync(
    join(ctx, "Containerfile"),
    `FROM scratch\nCOPY busybox /bin/busybox\nCOPY www /www\nCMD ${JSON.stringify(cmd)}\n`,
  );
  // Podman 4.3 sometimes loses a build container's state when two test files build at once
  // ("identifier is not a container ... buildah.json: no such file or directory", seen in a full
  // run): a fresh build then succeeds. Up to three tries; all their errors if none succeeds.
  const errors: string[] = [];
  for (let attempt = 1; attempt <= 3; attempt++) {
    const r = await podmanIn(env, "build", "-q", "-t", tag, ctx);
    if (r.exitCode === 0) return;
    errors.push(`try ${attempt}: ${r.stderr.trim()}`);
  }
  throw new Error(`podman build ${tag} failed:\n${errors.join("\n")}`);
}

/**
 * A throwaway busybox image that runs `cmd` (e.g. a shell loop printing lines), with a unique
 * name; remove it with `podman rmi -f <name>`.
 */
export async function buildCommandImage(cmd: string[]): Promise<string> {
  const tag = `localhost/berth-test-cmd-${process.pid}-${Math.random().toString(36).slice(2, 8)}:1`;
  const dir = mkdtempSync(join(tmpdir(), "berth-img-"));
  try {
    await build(dir, tag, {}, cmd, {});
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return tag;
}

/** Builds the test images (into the podman store `env` points at, default the host's). */
export async function buildTestImages(env: Record<string, string> = {}): Promise<TestImages> {
  const repo = `localhost/berth-test-busybox-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const dir = mkdtempSync(join(tmpdir(), "berth-img-"));
  const port = 8080;
  const httpd = ["/bin/busybox", "httpd", "-f", "-p", String(port), "-h", "/www"];
  const images = { v1: `${repo}:1`, v2: `${repo}:2`, broken: `${repo}:broken` };
  try {
    await build(dir, images.v1, { "index.html": "v1", healthz: "ok" }, httpd, env);
    await build(dir, images.v2, { "index.html": "v2", healthz: "ok" }, httpd, env);
    await build(dir, images.broken, { "index.html": "never" }, ["/bin/busybox", "sleep", "3600"], env);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    ...images,
    port,
    async remove() {
      await podmanIn(env, "rmi", "-f", images.v1, images.v2, images.broken);
    },
  };
}

/** Removes every container labelled with this test's node name (never anything else). */
export async function removeNodeContainers(node: string): Promise<void> {
  const r = await podman(
    "ps",
    "-a",
    "-q",
    "--filter",
    "label=berth.managed=true",
    "--filter",
    `label=berth.node=${node}`,
  );
  const ids = r.stdout.split("\n").filter(Boolean);
  if (ids.length) await podman("rm", "-f", ...ids);
}

/**
 * An app name unique to this test run. Container names (berth-<app>-<replica>-<slot>) are global
 * on a host, so tests running in parallel must not share app names either.
 */
export const uniqueApp = (prefix = "app"): string => `${prefix}-${Math.random().toString(36).slice(2, 8)}`;

/** A node name unique to this test run, so parallel tests never see each other's containers. */
export const uniqueNode = (prefix = "t"): string =>
  `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
