// The warm loader must give exactly what a cold load gives, whatever a commit changes. A seeded
// random walk over a small repo — apps, domains, nodes and Settings edited, added, removed,
// renamed and broken, multi-document files, duplicates, bad YAML, unknown kinds — loads every
// step through one long-lived ParseCache and compares it with a load without one. Seeded (the
// bench generator's PRNG), so a failing walk can be replayed.
import { describe, expect, it } from "vitest";
import { rng } from "../../bench/gen-repo.js";
import { type ConfigFile, type LoadResult, loadFromFiles, ParseCache } from "../../core/config/index.js";

const APPS = ["web", "api", "db", "cache", "worker", "admin"];

function appDoc(r: () => number, name: string): string {
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)] as T;
  const lines = [`kind: App`, `name: ${name}`];
  if (r() < 0.85) lines.push(`image: registry.example/${name}:${Math.floor(r() * 5)}`);
  else lines.push(`command: ["node", "${name}.js"]`);
  if (r() < 0.7) lines.push(`port: ${pick([80, 8080, 3000])}`);
  if (r() < 0.6) lines.push(`replicas: ${pick([0, 1, 2, 3, 9])}`);
  if (r() < 0.3) lines.push(`placement:\n  labels:\n    zone: ${pick(["a", "b", "c"])}`);
  else if (r() < 0.2) lines.push(`placement:\n  nodes: [${pick(["n1", "n2", "n1, n2"])}]`);
  if (r() < 0.3) lines.push(`resources:\n  cpu: ${pick([0.5, 1, 4])}`);
  if (r() < 0.05) lines.push(`imagee: typo`);
  if (r() < 0.2 && lines.some((l) => l.startsWith("port:"))) lines.push(`health:\n  path: /healthz`);
  return `${lines.join("\n")}\n`;
}

function domainDoc(r: () => number, host: string): string {
  const app = r() < 0.9 ? (APPS[Math.floor(r() * APPS.length)] as string) : "ghost";
  return `kind: Domain\nhost: ${host}\napp: ${app}\n${r() < 0.2 ? "path: /api\n" : ""}`;
}

function nodeDoc(r: () => number, name: string): string {
  const zone = ["a", "b", "c"][Math.floor(r() * 3)];
  const roles = r() < 0.5 ? "[worker, proxy]" : "[worker]";
  const runtime = r() < 0.8 ? "podman" : "process";
  return `kind: Node\nname: ${name}\naddress: 10.0.0.${name.length}\nroles: ${roles}\nruntime: ${runtime}\nlabels:\n  zone: ${zone}\ncapacity:\n  cpu: ${r() < 0.5 ? 4 : 8}\n  memory: 8Gi\n${r() < 0.1 ? "cordon: true\n" : ""}`;
}

/** One random change to the repo (path → text): edits, repairs, breakage and removals. */
function step(r: () => number, repo: Map<string, string>): void {
  const x = r();
  const app = APPS[Math.floor(r() * APPS.length)] as string;
  const n = Math.floor(r() * 3);
  if (x < 0.3) repo.set(`apps/${app}.yaml`, appDoc(r, r() < 0.95 ? app : "web"));
  else if (x < 0.45) repo.set(`apps/${app}.yaml`, `kind: App\nname: ${app}\nimage: nginx\nport: 80\n`);
  else if (x < 0.5) repo.delete(`apps/${app}.yaml`);
  else if (x < 0.62) repo.set(`domains/d${n}.yaml`, domainDoc(r, `h${Math.floor(r() * 5)}.example.com`));
  else if (x < 0.67) repo.delete(`domains/d${n}.yaml`);
  else if (x < 0.73) repo.set(`nodes/n${1 + (n % 2)}.yaml`, nodeDoc(r, `n${1 + (n % 2)}`));
  else if (x < 0.76) repo.set("berth.yaml", `kind: Settings\ndefaults:\n  replicas: ${1 + n}\n`);
  else if (x < 0.78) repo.delete("berth.yaml");
  else if (x < 0.83)
    repo.set(`mixed/m${n}.yaml`, `${appDoc(r, `m-${app}`)}---\n${domainDoc(r, `m${n}.example.com`)}`);
  else if (x < 0.86) repo.delete(`mixed/m${n}.yaml`);
  else if (x < 0.88) repo.set(`junk/${app}.yaml`, "kind: App\nname: [unclosed\n");
  else if (x < 0.9) repo.set(`junk/${app}.yaml`, "kind: Widget\nname: x\n");
  else if (x < 0.92) repo.set(`junk/${app}.yaml`, "kind: App\nname: web\nimage: nginx\nimage: again\n");
  else if (x < 0.94) repo.set(`junk/${app}.yaml`, "# only a comment\n");
  else if (x < 0.97) repo.delete(`junk/${app}.yaml`);
  else repo.set(`x/${app}.yaml`, `kind: Domain\nhost: &h x-${app}.example.com\napp: ${app}\npath: /x\n`);
}

/** A commit that repairs everything (so the walk also passes through valid states). */
function repair(repo: Map<string, string>): void {
  for (const path of [...repo.keys()]) {
    if (/^(junk|x|mixed)\//.test(path)) repo.delete(path);
    else if (path.startsWith("apps/"))
      repo.set(path, `kind: App\nname: ${path.slice(5, -5)}\nimage: nginx\nport: 80\n`);
    else if (path.startsWith("domains/"))
      repo.set(path, `kind: Domain\nhost: ${path.slice(8, -5)}.example.com\napp: web\n`);
  }
  repo.set("apps/web.yaml", "kind: App\nname: web\nimage: nginx\nport: 80\n");
  repo.set(
    "nodes/n1.yaml",
    "kind: Node\nname: n1\naddress: 10.0.0.1\nroles: [worker, proxy]\nruntime: podman\n",
  );
  repo.delete("nodes/n2.yaml");
}

const essence = (l: LoadResult) => ({ config: l.config, diagnostics: l.diagnostics, warnings: l.warnings });

describe("warm loads equal cold loads over random commits", () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8])("seed %i: 150 steps", (seed) => {
    const r = rng(seed);
    const repo = new Map<string, string>([["nodes/n1.yaml", nodeDoc(r, "n1")]]);
    for (const name of APPS) repo.set(`apps/${name}.yaml`, appDoc(r, name));
    const cache = new ParseCache();
    let valid = 0;
    for (let i = 0; i < 150; i++) {
      if (i % 10 === 9) repair(repo);
      else {
        const changes = 1 + Math.floor(r() * 3);
        for (let k = 0; k < changes; k++) step(r, repo);
      }
      // Readers give files in any order; blob ids key the cache (equal text, equal id).
      const files: ConfigFile[] = [...repo].map(([path, content]) => ({
        path,
        content,
        blobId: `id:${content}`,
      }));
      if (r() < 0.5) files.reverse();
      const warm = loadFromFiles(files, cache);
      const cold = loadFromFiles(files.map(({ blobId: _b, ...f }) => f));
      expect(essence(warm), `seed ${seed}, step ${i}`).toEqual(essence(cold));
      if (warm.diagnostics.length === 0) valid++;
    }
    // Both paths of the warm loader were taken, often.
    expect(cache.patchedLoads).toBeGreaterThan(20);
    expect(cache.patchedLoads).toBeLessThan(140);
    // The walk visits valid and invalid states alike.
    expect(valid).toBeGreaterThanOrEqual(15);
    expect(valid).toBeLessThan(140);
  });
});
