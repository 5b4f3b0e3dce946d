// Generates a large, valid, realistic config repo for benchmarks: one file per resource, nodes
// with capacity and labels in a container pool (podman/docker) and a process pool, apps placed by
// labels and names with resources, env, health and volumes, domains for apps with a port. Same
// seed, same repo. Used by bench/validate, plan and reconciler benchmarks.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gitEnv } from "./support.js";

export interface GenerateOptions {
  apps: number;
  nodes: number;
  domains: number;
  seed?: number;
  /** git init + commit everything on branch main (default true). */
  commit?: boolean;
  /** Pack the objects after committing, as a real repo is (default true). */
  gc?: boolean;
  /**
   * An encrypted secret on every app (env DB_PASSWORD: {secret: DB_PASSWORD}, secrets/<app>.yaml):
   * every node gets an age identity, berth.yaml one operator, and each secret is real age
   * ciphertext encrypted to the operator and the nodes the app is placed on (berth's own placement
   * decides them), so the repo validates. Identities are random: the repo is the same only in
   * everything else. Default false.
   */
  secrets?: boolean;
}

export interface GeneratedRepo {
  dir: string;
  files: number;
  /** The commit, when committed. */
  commit?: string;
  apps: string[];
  nodes: string[];
  hosts: string[];
}

const ZONES = ["z1", "z2", "z3", "z4", "z5"];
const WORDS = [
  "amber",
  "birch",
  "cedar",
  "delta",
  "ember",
  "fjord",
  "grove",
  "harbor",
  "iris",
  "juniper",
  "kite",
  "lumen",
  "maple",
  "nova",
  "orbit",
  "pine",
  "quartz",
  "raven",
  "sierra",
  "tide",
];
const NOUNS = [
  "api",
  "web",
  "worker",
  "cache",
  "auth",
  "search",
  "billing",
  "media",
  "events",
  "admin",
  "feed",
  "mail",
];

/** Deterministic PRNG (mulberry32): the same seed gives the same repo (tests use it for seeded walks). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SCHEMA = (kind: string) => `# yaml-language-server: $schema=../.berth/schema/${kind}.schema.json\n`;

export async function generateRepo(dir: string, opts: GenerateOptions): Promise<GeneratedRepo> {
  const rand = rng(opts.seed ?? 1);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  for (const sub of ["apps", "nodes", "domains"]) mkdirSync(join(dir, sub), { recursive: true });
  const ids = opts.secrets ? await identities(opts.nodes + 1) : undefined;
  const operator = ids?.[opts.nodes];

  writeFileSync(
    join(dir, "berth.yaml"),
    `# yaml-language-server: $schema=.berth/schema/settings.schema.json\nkind: Settings\nbranch: main\ndefaults:\n  strategy: start-first\n  health:\n    intervalSeconds: 5\n${operator ? `operators:\n  - name: bench\n    recipient: ${operator.recipient}\n` : ""}`,
  );

  // Nodes: 80% container pool (podman, every fifth docker), 20% process pool; 1% also proxies.
  const nodes: string[] = [];
  const processNodes: string[] = [];
  const containerNodes: string[] = [];
  const proxies = Math.max(2, Math.ceil(opts.nodes / 100));
  for (let i = 0; i < opts.nodes; i++) {
    const name = `node-${String(i).padStart(4, "0")}`;
    const pool = i % 5 === 4 ? "process" : "container";
    const runtime = pool === "process" ? "process" : i % 5 === 3 ? "docker" : "podman";
    (pool === "process" ? processNodes : containerNodes).push(name);
    nodes.push(name);
    const cpu = pick([8, 16, 32, 64]);
    const token = Array.from({ length: 64 }, () => "0123456789abcdef"[Math.floor(rand() * 16)]).join("");
    writeFileSync(
      join(dir, "nodes", `${name}.yaml`),
      `${SCHEMA("node")}kind: Node\nname: ${name}\naddress: 10.${(i >> 8) & 255}.${i & 255}.10\n` +
        `roles: [${i < proxies ? "worker, proxy" : "worker"}]\nruntime: ${runtime}\n` +
        `labels:\n  zone: ${ZONES[Math.floor(i / 5) % ZONES.length]}\n  disk: ${i % 3 === 0 ? "ssd" : "hdd"}\n  pool: ${pool}\n` +
        `capacity:\n  cpu: ${cpu}\n  memory: ${cpu * 4}Gi\ntokenSha256: ${token}\n${ids ? `recipient: ${ids[i]?.recipient}\n` : ""}`,
    );
  }

  // Apps: 80% images, 20% commands (placed on the process pool).
  const apps: string[] = [];
  const withPort: string[] = [];
  for (let i = 0; i < opts.apps; i++) {
    const name = `${pick(WORDS)}-${pick(NOUNS)}-${i.toString(36)}`;
    apps.push(name);
    const isProcess = i % 5 === 4;
    const pool = isProcess ? "process" : "container";
    const poolNodes = isProcess ? processNodes : containerNodes;
    const hasPort = rand() < 0.9;
    if (hasPort) withPort.push(name);
    let y = `${SCHEMA("app")}kind: App\nname: ${name}\n`;
    y += isProcess
      ? `command: ["node", "server.js", "--name", "${name}"]\nworkdir: /srv/${name}\n`
      : `image: registry.example.com/${pick(NOUNS)}/${name}:1.${Math.floor(rand() * 20)}.0\n`;
    if (hasPort) y += `port: ${isProcess ? 3000 : pick([80, 8080, 3000, 9000])}\n`;
    y += `replicas: ${1 + Math.floor(rand() * 3)}\n`;
    const placement = rand();
    if (placement < 0.05 && poolNodes.length >= 3) {
      const chosen = new Set<string>();
      while (chosen.size < 3) chosen.add(pick(poolNodes));
      y += `placement:\n  nodes: [${[...chosen].sort().join(", ")}]\n`;
    } else if (placement < 0.5) {
      y += `placement:\n  labels:\n    pool: ${pool}\n    zone: ${pick(ZONES)}\n`;
    } else if (placement < 0.7) {
      y += `placement:\n  labels:\n    pool: ${pool}\n    disk: ssd\n`;
    } else {
      y += `placement:\n  labels:\n    pool: ${pool}\n`;
    }
    y += `resources:\n  cpu: ${pick([0.1, 0.25, 0.5, 1])}\n  memory: ${pick(["64Mi", "128Mi", "256Mi", "512Mi"])}\n`;
    y += `env:\n  REVISION: "1"\n  LOG_LEVEL: ${pick(["info", "debug", "warn"])}\n  SERVICE_NAME: ${name}\n`;
    if (rand() < 0.5) y += `  DATABASE_URL: postgres://db.internal:5432/${name.replace(/-/g, "_")}\n`;
    if (rand() < 0.3) y += `  API_TOKEN: "${Math.floor(rand() * 1e12).toString(16)}"\n`;
    if (opts.secrets) y += "  DB_PASSWORD: { secret: DB_PASSWORD }\n";
    if (hasPort && rand() < 0.6) y += `health:\n  path: /healthz\n  timeoutSeconds: 2\n`;
    if (rand() < 0.05) y += `volumes:\n  - name: data\n    path: /var/lib/${name}\n`;
    if (rand() < 0.1) y += `strategy: stop-first\n`;
    writeFileSync(join(dir, "apps", `${name}.yaml`), y);
  }

  // Domains: one per app with a port, in a spread-out order; hosts are unique.
  const hosts: string[] = [];
  const count = Math.min(opts.domains, withPort.length * 2);
  for (let i = 0; i < count; i++) {
    const app = withPort[(i * 7919) % withPort.length] as string;
    const second = i >= withPort.length;
    const host = `${app}.${second ? "example.org" : "example.com"}`;
    hosts.push(host);
    const path = i % 10 === 9 ? "\npath: /api" : "";
    writeFileSync(
      join(dir, "domains", `${host}.yaml`),
      `${SCHEMA("domain")}kind: Domain\nhost: ${host}\napp: ${app}${path}\ntls: ${i % 20 === 0 ? "internal" : "auto"}\n`,
    );
  }

  if (operator) await writeSecrets(dir, operator.recipient);
  const files = 1 + opts.nodes + opts.apps + count + (operator ? opts.apps : 0);
  const result: GeneratedRepo = { dir, files, apps, nodes, hosts };
  if (opts.commit ?? true) {
    result.commit = commitAll(dir, `Generate ${opts.apps} apps, ${opts.nodes} nodes, ${count} domains`);
    if (opts.gc ?? true) git(dir, "gc", "-q");
  }
  return result;
}

/**
 * Changes one app (bumps its REVISION env, a different app on each call) and commits when the
 * dir is a git repo. Returns the repo-relative file changed and the new commit.
 */
export async function mutateOneApp(
  dir: string,
  opts: { commit?: boolean } = {},
): Promise<{ file: string; commit?: string }> {
  const names = readdirSync(join(dir, "apps"))
    .filter((f) => f.endsWith(".yaml"))
    .sort();
  const counterFile = join(dir, ".bench-mutations");
  const n = existsSync(counterFile) ? Number(readFileSync(counterFile, "utf8")) : 0;
  writeFileSync(counterFile, String(n + 1));
  const file = `apps/${names[(n * 7919) % names.length]}`;
  const path = join(dir, file);
  const text = readFileSync(path, "utf8");
  writeFileSync(
    path,
    text.replace(/REVISION: "(\d+)"/, (_m, r: string) => `REVISION: "${Number(r) + 1}"`),
  );
  const out: { file: string; commit?: string } = { file };
  if ((opts.commit ?? true) && existsSync(join(dir, ".git"))) {
    git(dir, "add", "--", file);
    git(dir, "commit", "-q", "-m", `Bump ${file}`);
    out.commit = git(dir, "rev-parse", "HEAD");
  }
  return out;
}

/** `n` age identities and their recipients. */
async function identities(n: number): Promise<{ identity: string; recipient: string }[]> {
  const age = await import("age-encryption");
  const out: { identity: string; recipient: string }[] = [];
  for (let i = 0; i < n; i++) {
    const identity = await age.generateX25519Identity();
    out.push({ identity, recipient: await age.identityToRecipient(identity) });
  }
  return out;
}

/**
 * secrets/<app>.yaml for every app: its DB_PASSWORD encrypted to the operator and to the nodes
 * berth places the app on (read back from the files just written, placed by berth's placement).
 */
async function writeSecrets(dir: string, operator: string): Promise<void> {
  const [{ loadWorktree }, { buildNodeTable, Placer, appRequest }, { renderSecretsFile }, age] =
    await Promise.all([
      import("../reconciler/repo/load.js"),
      import("../core/placement/index.js"),
      import("../core/secrets/file.js"),
      import("age-encryption"),
    ]);
  // The apps take a secret that is not written yet, so the load has that diagnostic: placement
  // only needs the (valid) apps and nodes.
  const { config } = await loadWorktree(dir);
  const table = buildNodeTable(config.nodes.map((e) => e.spec));
  const apps = config.apps.map((e) => e.spec).sort((a, b) => (a.name < b.name ? -1 : 1));
  const placement = new Placer().place(table, apps.map(appRequest));
  mkdirSync(join(dir, "secrets"), { recursive: true });
  const one = async (name: string) => {
    const placed = placement.byApp.get(name)?.nodes ?? [];
    const recipients = [operator];
    for (const i of placed) {
      const r = table.specs[i]?.recipient;
      if (r && !recipients.includes(r)) recipients.push(r);
    }
    const e = new age.Encrypter();
    for (const r of recipients) e.addRecipient(r);
    const ciphertext = age.armor.encode(await e.encrypt(`bench-password-${name}`));
    const spec = {
      kind: "Secrets" as const,
      app: name,
      secrets: {
        DB_PASSWORD: {
          recipients: recipients as [string, ...string[]],
          updated: "2026-11-23T10:00:00Z",
          ciphertext,
        },
      },
    };
    writeFileSync(
      join(dir, "secrets", `${name}.yaml`),
      renderSecretsFile(spec, () => undefined),
    );
  };
  // Encryption runs X25519 on the thread pool: a few dozen at a time keep it busy.
  for (let i = 0; i < apps.length; i += 64) await Promise.all(apps.slice(i, i + 64).map((a) => one(a.name)));
}

function commitAll(dir: string, message: string): string {
  if (!existsSync(join(dir, ".git"))) git(dir, "init", "-q", "-b", "main");
  writeFileSync(join(dir, ".gitignore"), ".bench-mutations\n");
  git(dir, "add", "-A");
  git(dir, "commit", "-q", "-m", message);
  return git(dir, "rev-parse", "HEAD");
}

function git(dir: string, ...args: string[]): string {
  // Auto-gc would start in the background after a big commit and race our own `git gc`.
  return execFileSync("git", ["-c", "gc.auto=0", ...args], {
    cwd: dir,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    env: gitEnv,
  }).trim();
}
