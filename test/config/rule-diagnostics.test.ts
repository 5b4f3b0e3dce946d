// Stage 2: every semantic rule, one tiny repo per case, with the exact lines `berth validate`
// prints (errors and warnings).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { RESERVED_PORTS, rules } from "../../core/config/index.js";
import { APP, BASE, DOMAIN, linesOf, NODE } from "./load-helpers.js";

interface Case {
  name: string;
  rule: string;
  files: Record<string, string>;
  errors?: string[];
  warnings?: string[];
}

const worker = (name: string, extra = "") =>
  `kind: Node\nname: ${name}\naddress: 10.0.0.9\nruntime: podman\n${extra}`;

// A value encrypted by the age CLI to the fixture operator and node n1 (test/fixtures/secrets).
const fixture = (f: string) => readFileSync(new URL(`../fixtures/secrets/${f}`, import.meta.url), "utf8");
const OPERATOR = "age1hrytu5sc2wj4g0cm3thx54uw8urwdy3csfnpdp959zjclrsgdpjsdshrjy";
const N1 = "age1znwrrqkjex6y6fgcajq7y7c4pkmwm77znqknhv2auqjcnp269qdq24jgjx";
const CIPHERTEXT = fixture("db-password.age");
const secrets = (app: string, name = "DB_PASSWORD", ciphertext = CIPHERTEXT, recipients = [OPERATOR, N1]) =>
  `kind: Secrets\napp: ${app}\nsecrets:\n  ${name}:\n    recipients: [${recipients.join(", ")}]\n    ciphertext: |\n${ciphertext
    .trim()
    .replace(/^/gm, "      ")}\n`;
const SETTINGS = `kind: Settings\noperators:\n  - name: alice\n    recipient: ${OPERATOR}\n`;
const WITH_SECRET = {
  ...BASE,
  "berth.yaml": SETTINGS,
  "nodes/n1.yaml": `${NODE}recipient: ${N1}\n`,
  "apps/web.yaml": `${APP}env:\n  DB_PASSWORD: { secret: DB_PASSWORD }\n`,
  "secrets/web.yaml": secrets("web"),
};

const cases: Case[] = [
  {
    name: "two apps with one name",
    rule: "duplicate-app",
    files: { ...BASE, "apps/web-copy.yaml": APP },
    errors: [
      'apps/web.yaml:2:7: app "web" is defined twice (first in apps/web-copy.yaml): app names must be unique; rename or remove one [duplicate-app]',
    ],
  },
  {
    name: "two nodes with one name in one file",
    rule: "duplicate-node",
    files: { ...BASE, "nodes/n1.yaml": `${NODE}---\n${NODE}` },
    errors: [
      'nodes/n1.yaml:13:7: node "n1" is defined twice (first earlier in this file): node names must be unique; rename or remove one [duplicate-node]',
    ],
  },
  {
    name: "two domains with one host and path",
    rule: "duplicate-domain",
    files: { ...BASE, "domains/again.yaml": "kind: Domain\nhost: www.example.com\napp: web\npath: /\n" },
    errors: [
      "domains/www.example.com.yaml:2:7: domain www.example.com is defined twice (first in domains/again.yaml): a host and path route to one app; remove one or give it another path [duplicate-domain]",
    ],
  },
  {
    name: "same host, another path, is fine",
    rule: "duplicate-domain",
    files: { ...BASE, "domains/api.yaml": "kind: Domain\nhost: www.example.com\napp: web\npath: /api\n" },
    errors: [],
  },
  {
    name: "domain naming an app that does not exist",
    rule: "domain-app-missing",
    files: { ...BASE, "domains/www.example.com.yaml": "kind: Domain\nhost: www.example.com\napp: wbe\n" },
    errors: [
      'domains/www.example.com.yaml:3:6: domain www.example.com routes to app "wbe", which does not exist; did you mean "web"? [domain-app-missing]',
    ],
  },
  {
    name: "domain to an app without port",
    rule: "domain-app-port",
    files: { ...BASE, "apps/web.yaml": "kind: App\nname: web\nimage: nginx\n" },
    errors: [
      'domains/www.example.com.yaml:3:6: domain www.example.com routes to app "web", which has no port: add "port: <the port it listens on>" to the app [domain-app-port]',
    ],
  },
  {
    name: "placement naming an unknown node",
    rule: "placement-unknown-node",
    files: { ...BASE, "apps/web.yaml": `${APP}placement:\n  nodes: [n1, n2]\n` },
    errors: [
      'apps/web.yaml:6:15: app "web" is placed on node "n2", which does not exist; did you mean "n1"? [placement-unknown-node]',
    ],
  },
  {
    name: "placement label that no node has",
    rule: "placement-unknown-label",
    files: { ...BASE, "apps/web.yaml": `${APP}placement:\n  labels:\n    zone: b\n` },
    errors: [
      'apps/web.yaml:7:11: app "web" needs label zone=b, which no node has (nodes have zone=a): fix the label or add it to a node [placement-unknown-label]',
    ],
  },
  {
    name: "placement labels that exist, but on no single node",
    rule: "placement-unknown-label",
    files: {
      ...BASE,
      "nodes/n2.yaml": worker("n2", "labels:\n  disk: ssd\n"),
      "apps/web.yaml": `${APP}placement:\n  labels:\n    zone: a\n    disk: ssd\n`,
    },
    errors: [
      'apps/web.yaml:6:3: app "web" needs labels zone=a, disk=ssd, and no single node has all of them [placement-unknown-label]',
    ],
  },
  {
    name: "image app on process nodes only",
    rule: "runtime-mismatch",
    files: { ...BASE, "nodes/n1.yaml": NODE.replace("runtime: podman", "runtime: process") },
    errors: [
      'apps/web.yaml:3:1: app "web" has an image, but none of the nodes it may run on runs podman or docker (n1: process): place it on a podman or docker node, or run it as a command on a process node [runtime-mismatch]',
    ],
  },
  {
    name: "command app on container nodes only",
    rule: "runtime-mismatch",
    files: { ...BASE, "apps/web.yaml": 'kind: App\nname: web\ncommand: ["node", "server.js"]\nport: 8080\n' },
    errors: [
      'apps/web.yaml:3:1: app "web" has a command, but none of the nodes it may run on runs process (n1: podman): place it on a node with runtime process, or give it an image instead [runtime-mismatch]',
    ],
  },
  {
    name: "an app with 0 replicas needs no node",
    rule: "runtime-mismatch",
    files: {
      ...BASE,
      "nodes/n1.yaml": NODE.replace("runtime: podman", "runtime: process"),
      "apps/web.yaml": `${APP}replicas: 0\n`,
    },
    errors: [],
    warnings: [
      'domains/www.example.com.yaml:3:6: warning: domain www.example.com routes to app "web", which has 0 replicas: requests will get 502 until it is scaled up [domain-no-replicas]',
    ],
  },
  {
    name: "a worker on loopback while the proxy runs on another node",
    rule: "loopback-address",
    files: {
      ...BASE,
      "nodes/n1.yaml": NODE.replace("roles: [worker, proxy]", "roles: [proxy]"),
      "nodes/w1.yaml": worker("w1").replace("10.0.0.9", "127.0.0.1"),
    },
    errors: [],
    warnings: [
      "nodes/w1.yaml:3:10: warning: node w1 has the loopback address 127.0.0.1, but proxy node n1 runs elsewhere and would dial its own loopback for w1's workloads (502s): give w1 an address the proxies can reach [loopback-address]",
    ],
  },
  {
    name: "loopback is fine when the proxy is the node itself",
    rule: "loopback-address",
    files: { ...BASE, "nodes/n1.yaml": NODE.replace("10.0.0.1", "127.0.0.1") },
    errors: [],
  },
  {
    name: "no schedulable node: every worker cordoned",
    rule: "replicas-fit",
    files: { ...BASE, "nodes/n1.yaml": `${NODE}cordon: true\n` },
    errors: [
      'apps/web.yaml:1:1: app "web" cannot be placed: no node may run it (every worker node is cordoned): uncordon a node [replicas-fit]',
    ],
  },
  {
    name: "no worker at all",
    rule: "replicas-fit",
    files: { ...BASE, "nodes/n1.yaml": NODE.replace("roles: [worker, proxy]", "roles: [proxy]") },
    errors: [
      'apps/web.yaml:1:1: app "web" cannot be placed: no node may run it (no node has the worker role): add "worker" to a node\'s roles [replicas-fit]',
    ],
  },
  {
    name: "one replica larger than any node",
    rule: "replicas-fit",
    files: { ...BASE, "apps/web.yaml": `${APP}replicas: 2\nresources:\n  cpu: 6\n` },
    errors: [
      'apps/web.yaml:5:11: app "web": one replica needs 6 cpu, but none of its 1 eligible node has that much capacity (largest: 4 cpu, 8 GiB): lower resources or add a larger node [replicas-fit]',
    ],
  },
  {
    name: "more replicas than the eligible nodes hold",
    rule: "replicas-fit",
    files: {
      ...BASE,
      "nodes/n2.yaml": worker("n2", "capacity:\n  cpu: 2\n  memory: 1Gi\n"),
      "apps/web.yaml": `${APP}replicas: 10\nresources:\n  cpu: 1\n  memory: 512Mi\n`,
    },
    errors: [
      'apps/web.yaml:5:11: app "web" needs 10 replicas of 1 cpu and 512Mi, but its 2 eligible nodes have room for only 6: lower replicas or resources, or add nodes [replicas-fit]',
    ],
  },
  {
    name: "a node without capacity holds any number of replicas",
    rule: "replicas-fit",
    files: {
      ...BASE,
      "nodes/n2.yaml": worker("n2"),
      "apps/web.yaml": `${APP}replicas: 50\nresources:\n  cpu: 1\n`,
    },
    errors: [],
  },
  {
    name: "health check without port",
    rule: "health-without-port",
    files: {
      "nodes/n1.yaml": NODE,
      "apps/jobs.yaml": "kind: App\nname: jobs\nimage: jobs:1\nhealth:\n  path: /healthz\n",
    },
    errors: [
      'apps/jobs.yaml:4:1: app "jobs" has a health check but no port to check: add "port: <the port it listens on>" or remove health [health-without-port]',
    ],
  },
  {
    name: "Settings health defaults do not go to apps without a port",
    rule: "health-without-port",
    files: {
      "berth.yaml": "kind: Settings\ndefaults:\n  health:\n    path: /healthz\n",
      "nodes/n1.yaml": NODE,
      "apps/jobs.yaml": "kind: App\nname: jobs\nimage: jobs:1\n",
    },
    errors: [],
  },
  {
    name: "two volumes with one name and one path",
    rule: "duplicate-volume",
    files: {
      ...BASE,
      "apps/web.yaml": `${APP}volumes:\n  - name: data\n    path: /data\n  - name: data\n    path: /data\n`,
    },
    errors: [
      'apps/web.yaml:8:11: app "web" lists volume "data" twice: give each volume its own name [duplicate-volume]',
      'apps/web.yaml:9:11: app "web" mounts two volumes at /data: give each volume its own path [duplicate-volume]',
    ],
  },
  {
    name: "more than one Settings",
    rule: "duplicate-settings",
    files: {
      ...BASE,
      "berth.yaml": "kind: Settings\n",
      "more/berth.yaml": "kind: Settings\nbranch: trunk\n",
    },
    errors: [
      "more/berth.yaml:1:7: more than one Settings document (the first is in berth.yaml): a repo has at most one; merge them [duplicate-settings]",
    ],
  },
  {
    name: "portRange with low above high",
    rule: "port-range",
    files: { ...BASE, "nodes/n2.yaml": worker("n2", "portRange: [30000, 20000]\n") },
    errors: [
      "nodes/n2.yaml:5:12: portRange [30000, 20000] is empty: write [low, high] with low <= high [port-range]",
    ],
  },
  {
    name: "portRange of one port",
    rule: "port-range",
    files: { ...BASE, "nodes/n2.yaml": worker("n2", "portRange: [20000, 20000]\n") },
    errors: [
      "nodes/n2.yaml:5:12: portRange [20000, 20000] has 1 port, but each workload needs 2 consecutive ports (the second for start-first replacement): widen it [port-range]",
    ],
  },
  {
    name: "portRange over privileged and reserved ports",
    rule: "port-range",
    files: { ...BASE, "nodes/n2.yaml": worker("n2", "portRange: [80, 8000]\n") },
    errors: [
      "nodes/n2.yaml:5:12: portRange [80, 8000] includes 2019 (Caddy's admin API), 7070 (berth serve's API), which berth uses itself: choose a range without 2019, 7070 [port-range]",
      "nodes/n2.yaml:5:13: portRange [80, 8000] includes privileged ports below 1024: start it at 1024 or above [port-range]",
    ],
  },
  {
    name: "portRange in the ephemeral range is a warning",
    rule: "port-range",
    files: { ...BASE, "nodes/n2.yaml": worker("n2", "portRange: [40000, 41000]\n") },
    errors: [],
    warnings: [
      "nodes/n2.yaml:5:12: warning: portRange [40000, 41000] overlaps Linux's ephemeral ports 32768-60999 (used by outgoing connections), so a workload's port may already be taken: prefer a range below 32768 [port-range]",
    ],
  },
  {
    name: "desired branch equal to the tracked branch",
    rule: "settings-branches",
    files: { ...BASE, "berth.yaml": "kind: Settings\nbranch: main\ndesiredBranch: main\n" },
    errors: [
      'berth.yaml:3:16: desiredBranch "main" is the same as branch: berth writes desiredBranch separately; use another branch name [settings-branches]',
    ],
  },
  {
    name: "alerts: duplicate receiver, chat URL in the repo, unknown receiver, duplicate rule, clashing branch",
    rule: "alert-receivers",
    files: {
      ...BASE,
      "berth.yaml": [
        "kind: Settings",
        "alerts:",
        "  branch: main",
        "  receivers:",
        "    - { name: ops, kind: webhook, url: https://hooks.example.com/berth }",
        "    - { name: ops, kind: slack, url: https://hooks.slack.com/services/T/B/X }",
        "    - { name: chat, kind: discord }",
        "    - { name: bare, kind: webhook }",
        "  rules:",
        "    - { kind: node-lost, receivers: [ops, pager] }",
        "    - { kind: node-lost }",
        "",
      ].join("\n"),
    },
    errors: [
      'berth.yaml:3:11: alerts.branch "main" is one of berth\'s other branches: berth keeps alert state apart; use another name (default berth/alerts) [alert-receivers]',
      'berth.yaml:6:15: receiver "ops" is defined twice: give each receiver its own name [alert-receivers]',
      "berth.yaml:6:33: a slack webhook URL is a credential and must not be committed: put it in the file given to `berth serve --alert-secrets-file` and name its entry with urlSecret [alert-receivers]",
      'berth.yaml:7:7: receiver "chat" (discord) needs urlSecret: the name of the secrets-file entry holding its incoming-webhook URL [alert-receivers]',
      'berth.yaml:8:7: receiver "bare" needs url (or urlSecret, the secrets-file entry holding the URL) [alert-receivers]',
      'berth.yaml:10:43: alert rule "node-lost" names receiver "pager", which is not defined (receivers: ops, chat, bare) [alert-receivers]',
      'berth.yaml:11:15: alert rule "node-lost" is defined twice (a rule without name is named after its kind): give it a distinct name [alert-receivers]',
    ],
  },
  {
    name: "domains but no proxy node",
    rule: "no-proxy",
    files: { ...BASE, "nodes/n1.yaml": NODE.replace("roles: [worker, proxy]", "roles: [worker]") },
    errors: [],
    warnings: [
      'domains/www.example.com.yaml:2:7: warning: no node has the proxy role, so no domain is served: add "proxy" to the roles of a node [no-proxy]',
    ],
  },
  {
    name: "a secret encrypted to the operator and the node the app runs on",
    rule: "secret-missing",
    files: WITH_SECRET,
    errors: [],
  },
  {
    name: "two Secrets documents for one app",
    rule: "duplicate-secrets",
    files: { ...WITH_SECRET, "secrets/web.yml": secrets("web") },
    errors: [
      'secrets/web.yml:2:6: the secrets of app "web" are defined twice (first in secrets/web.yaml): keep one Secrets document per app (berth secret writes secrets/web.yaml); move these there or remove them [duplicate-secrets]',
    ],
  },
  {
    name: "secrets of an app that does not exist",
    rule: "secrets-app-missing",
    files: { ...WITH_SECRET, "secrets/api.yaml": secrets("api") },
    errors: [
      'secrets/api.yaml:2:6: secrets for app "api", which does not exist: fix the app name, or remove them with `berth secret rm api --all` [secrets-app-missing]',
    ],
  },
  {
    name: "a ciphertext cut short",
    rule: "secret-malformed",
    files: { ...WITH_SECRET, "secrets/web.yaml": secrets("web", "DB_PASSWORD", CIPHERTEXT.slice(0, 200)) },
    errors: [
      'secrets/web.yaml:6:17: secret DB_PASSWORD of app web cannot be decrypted: it does not end with "-----END AGE ENCRYPTED FILE-----": the ciphertext is cut short; set it again with `berth secret set web DB_PASSWORD` (value on stdin or --from-file) [secret-malformed]',
    ],
  },
  {
    name: "an env entry taking a secret that is not set",
    rule: "secret-missing",
    files: {
      ...WITH_SECRET,
      "apps/web.yaml": `${APP}env:\n  DB_PASSWORD: { secret: DB_PASSWORD }\n  TOKEN: { secret: API_TOKEN }\n`,
    },
    errors: [
      "apps/web.yaml:7:20: env TOKEN takes secret API_TOKEN, which is not set (no secret API_TOKEN in secrets/web.yaml): set it with `berth secret set web API_TOKEN < value-file` [secret-missing]",
    ],
  },
  {
    name: "a secret no env entry uses",
    rule: "secret-unused",
    files: { ...WITH_SECRET, "apps/web.yaml": APP },
    warnings: [
      'secrets/web.yaml:4:3: warning: secret DB_PASSWORD of app web is not used: add "DB_PASSWORD: { secret: DB_PASSWORD }" to the app\'s env, or remove it with `berth secret rm web DB_PASSWORD` [secret-unused]',
    ],
  },
  {
    name: "a secret no operator can read",
    rule: "secret-no-operator",
    files: { ...WITH_SECRET, "berth.yaml": "kind: Settings\n" },
    warnings: [
      "secrets/web.yaml:5:17: warning: no operator can read or rekey secret DB_PASSWORD of app web (berth.yaml lists no operators): add yourself to operators in berth.yaml, then set it again with `berth secret set web DB_PASSWORD` [secret-no-operator]",
    ],
  },
];

describe("rule diagnostics", () => {
  it.each(cases)("$rule: $name", ({ files, errors = [], warnings = [] }) => {
    const out = linesOf(files);
    expect(out.errors).toEqual(errors);
    expect(out.warnings).toEqual(warnings);
  });

  it("covers every rule, and duplicate Settings, with a case where it fires", () => {
    const fired = new Set<string>();
    for (const c of cases) {
      const out = linesOf(c.files);
      for (const line of [...out.errors, ...out.warnings]) fired.add(/\[([a-z-]+)\]$/.exec(line)?.[1] ?? "");
    }
    for (const name of [...rules.map((r) => r.name), "duplicate-settings"])
      expect(fired, name).toContain(name);
  });

  it("names berth's reserved ports in one place", () => {
    expect(RESERVED_PORTS.map((r) => r.port)).toEqual([2019, 7070]);
  });

  it("the domain of an unchanged base stays valid next to every case (sanity)", () => {
    expect(linesOf({ ...BASE, "domains/x.yaml": DOMAIN.replace("www.", "x.") }).errors).toEqual([]);
  });
});
