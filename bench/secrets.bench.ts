// Benchmark of the agent's side of encrypted secrets: decrypting 100 secrets with the node's
// identity, as the agent does when it starts instances (agent/secrets/resolver.ts: identity file
// read and imported once, decryptions in parallel). Each secret is encrypted, as berth secret set
// does it for an app two nodes may run, to the two nodes and then the operator, with this node's
// stanza second (the library tries stanzas in order, one X25519 exchange each: the slower of the
// two nodes). Also: the first call, which loads the age library, and the
// agent's resident memory before and after (the library is loaded only when a document has secrets).
// Run: npx tsx bench/secrets.bench.ts   (BENCH_RUNS=20 by default)
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createSecretResolver } from "../agent/secrets/resolver.js";
import { machineSpeed, pct } from "./support.js";

const runs = Number(process.env.BENCH_RUNS ?? 20);
const rssBefore = process.memoryUsage().rss;
const speedBefore = machineSpeed();
const age = await import("age-encryption");
const keys = await Promise.all(
  [0, 1, 2].map(async () => {
    const identity = await age.generateX25519Identity();
    return { identity, recipient: await age.identityToRecipient(identity) };
  }),
);
const [operator, other, node] = keys as [(typeof keys)[0], (typeof keys)[0], (typeof keys)[0]];
const secrets: Record<string, { secret: string; ciphertext: string }> = {};
for (let i = 0; i < 100; i++) {
  const e = new age.Encrypter();
  for (const r of [other.recipient, node.recipient, operator.recipient]) e.addRecipient(r);
  secrets[`SECRET_${i}`] = {
    secret: `SECRET_${i}`,
    ciphertext: age.armor.encode(await e.encrypt(`value-${i}-${"x".repeat(24)}`)),
  };
}
const dir = mkdtempSync(join(tmpdir(), "berth-bench-secrets-"));
const file = join(dir, "identity");
writeFileSync(file, `${node.identity}\n`, { mode: 0o600 });

const resolver = createSecretResolver({ identityFile: file });
let t = performance.now();
const first = await resolver.decrypt("bench", secrets);
const firstMs = performance.now() - t;
if (Object.keys(first).length !== 100 || first.SECRET_7 !== `value-7-${"x".repeat(24)}`)
  throw new Error("wrong plaintext");
const times: number[] = [];
for (let r = 0; r < runs; r++) {
  t = performance.now();
  await resolver.decrypt("bench", secrets);
  times.push(performance.now() - t);
}
const rssAfter = process.memoryUsage().rss;
rmSync(dir, { recursive: true, force: true });

console.log(
  `secrets: 100 secrets (3 recipients: 2 nodes then the operator, this node's stanza second); ${runs} runs; load average ${loadavg()[0]?.toFixed(1)} on ${availableParallelism()} cores`,
);
const rows: [string, string, string][] = [
  ["decrypt 100 secrets on an agent, p50", `${pct(times, 50).toFixed(1)} ms`, "≤ 50 ms"],
  [
    "decrypt 100 secrets, p90 / min",
    `${pct(times, 90).toFixed(1)} / ${Math.min(...times).toFixed(1)} ms`,
    "",
  ],
  ["first call (loads the age library, imports the identity)", `${firstMs.toFixed(1)} ms`, ""],
  [
    "RSS of this process: before the age library / after",
    `${(rssBefore / 2 ** 20).toFixed(1)} / ${(rssAfter / 2 ** 20).toFixed(1)} MB`,
    "(loaded only when a document has secrets)",
  ],
];
const width = Math.max(...rows.map((x) => x[0].length));
for (const [name, value, goal] of rows)
  console.log(`  ${name.padEnd(width)}  ${value.padStart(18)}  ${goal}`);
console.log(
  `  machine speed (bench/support.ts machineSpeed, lower is faster): ${speedBefore.toFixed(0)} ms before, ${machineSpeed().toFixed(0)} ms after`,
);
