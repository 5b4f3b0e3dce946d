// secret-unreadable: after placement, every node an app's replica is placed on must be able to
// decrypt the secrets that app's env uses — its recipient must be among the ones each secret was
// encrypted to. Otherwise the agent there could not start the app, so the commit is refused before
// anything is published, naming the node and the command that fixes it. Pure; it compares
// recipient strings, it never decrypts.
import type { AppSpec, Config, Entry, Finding, NodeSpec } from "../config/model.js";
import type { PlacementResult } from "../placement/index.js";
import { secretsByApp, secretUses } from "./refs.js";

export function unreadableSecrets(
  config: Config,
  apps: readonly Entry<AppSpec>[],
  placement: PlacementResult,
): Finding[] {
  const findings: Finding[] = [];
  if (config.secrets.length === 0) return findings;
  const index = secretsByApp(config);
  const specs = placement.table.specs;
  for (const a of apps) {
    const uses = secretUses(a.spec);
    if (uses.length === 0) continue;
    const own = index.get(a.spec.name);
    const placed = placement.byApp.get(a.spec.name);
    if (!own || !placed) continue;
    // The common case, every placed node a recipient of every secret, allocates nothing.
    if (allReadable(uses, own.spec, placed.nodes, specs)) continue;
    // Node → the replicas placed there, in replica order.
    const byNode = new Map<NodeSpec, number[]>();
    placed.nodes.forEach((i, replica) => {
      const node = specs[i] as NodeSpec;
      const list = byNode.get(node);
      if (list) list.push(replica);
      else byNode.set(node, [replica]);
    });
    const seen = new Set<string>();
    for (const u of uses) {
      if (seen.has(u.secret)) continue;
      seen.add(u.secret);
      const value = own.spec.secrets[u.secret];
      if (!value) continue; // secret-missing says it
      const recipients = new Set(value.recipients);
      const noIdentity: string[] = [];
      const notRecipient: string[] = [];
      const where: string[] = [];
      for (const [node, replicas] of byNode) {
        if (node.recipient && recipients.has(node.recipient)) continue;
        (node.recipient ? notRecipient : noIdentity).push(node.name);
        where.push(...replicas.map((r) => `${a.spec.name}-${r} on ${node.name}`));
      }
      if (where.length === 0) continue;
      const nodes = [...notRecipient, ...noIdentity];
      const fix =
        noIdentity.length > 0
          ? `give ${plural(noIdentity, "node")} an identity with ${noIdentity.map((n) => `\`berth node identity ${n}\``).join(", ")}, then run \`berth secret rekey ${a.spec.name}\``
          : `run \`berth secret rekey ${a.spec.name}\` and commit ${own.origin.file}`;
      const why =
        noIdentity.length > 0 && notRecipient.length === 0
          ? `${plural(noIdentity, "node")} ${noIdentity.length === 1 ? "has" : "have"} no age identity (no recipient in ${noIdentity.length === 1 ? "its" : "their"} node file)`
          : `it is not encrypted to ${plural(nodes, "node")}${noIdentity.length > 0 ? ` (${noIdentity.join(", ")} without an age identity)` : ""}`;
      findings.push({
        origin: own.origin,
        path: ["secrets", u.secret, "recipients"],
        rule: "secret-unreadable",
        message: `secret ${u.secret} of app ${a.spec.name} cannot be decrypted where the app is placed (${where.join(", ")}): ${why}; ${fix}`,
      });
    }
  }
  return findings;
}

function allReadable(
  uses: readonly { secret: string }[],
  secrets: Config["secrets"][number]["spec"],
  nodes: readonly number[],
  specs: readonly NodeSpec[],
): boolean {
  for (const u of uses) {
    const value = secrets.secrets[u.secret];
    if (!value) continue;
    for (const i of nodes) {
      const r = specs[i]?.recipient;
      if (!r || !value.recipients.includes(r)) return false;
    }
  }
  return true;
}

function plural(names: readonly string[], what: string): string {
  return `${what}${names.length === 1 ? "" : "s"} ${names.join(", ")}`;
}
