// Stage 1 (schema per document) and document-level problems: each case is a tiny repo of inline
// files and the exact lines `berth validate` prints for it.
import { describe, expect, it } from "vitest";
import { APP, BASE, linesOf } from "./load-helpers.js";

interface Case {
  name: string;
  files: Record<string, string>;
  errors: string[];
}

const cases: Case[] = [
  {
    name: "unknown field, with the closest known one (position at the key)",
    files: { ...BASE, "apps/web.yaml": "kind: App\nname: web\nimagee: nginx\nimage: nginx\nport: 8080\n" },
    errors: ['apps/web.yaml:3:1: unknown field "imagee" in App; did you mean "image"? [schema]'],
  },
  {
    name: "unknown field with nothing close lists the known fields",
    files: {
      ...BASE,
      "domains/www.example.com.yaml": "kind: Domain\nhost: www.example.com\napp: web\nweight: 3\n",
    },
    errors: [
      'domains/www.example.com.yaml:4:1: unknown field "weight" in Domain (fields: kind, host, app, path, tls) [schema]',
    ],
  },
  {
    name: "unknown field inside a nested mapping",
    files: { ...BASE, "apps/web.yaml": `${APP}health:\n  pathh: /healthz\n` },
    errors: ['apps/web.yaml:6:3: unknown field "pathh" in health; did you mean "path"? [schema]'],
  },
  {
    name: "number below its minimum (position at the value)",
    files: { ...BASE, "apps/web.yaml": `${APP}replicas: -1\n` },
    errors: ["apps/web.yaml:5:11: replicas must be >= 0 [schema]"],
  },
  {
    name: "failover in berth.yaml: a value of the wrong type and a grace below 0",
    files: {
      ...BASE,
      "berth.yaml": "kind: Settings\nfailover:\n  enabled: yes please\n  graceSeconds: -5\n",
    },
    errors: [
      `berth.yaml:3:12: failover.enabled must be true or false, not the string "yes please" [schema]`,
      "berth.yaml:4:17: failover.graceSeconds must be >= 0 [schema]",
    ],
  },
  {
    name: "name that is not a DNS label",
    files: { ...BASE, "apps/web.yaml": "kind: App\nname: Web\nimage: nginx\nport: 8080\n" },
    errors: [
      `apps/web.yaml:2:7: name "Web" is not a valid name: use lowercase letters, digits and '-' (a DNS label) [schema]`,
      // The domain's app is checked against every App document's name, valid or not.
      'domains/www.example.com.yaml:3:6: domain www.example.com routes to app "web", which does not exist; did you mean "Web"? [domain-app-missing]',
    ],
  },
  {
    name: "App with neither image nor command: one message",
    files: { ...BASE, "apps/web.yaml": "kind: App\nname: web\nport: 8080\n" },
    errors: [
      "apps/web.yaml:1:1: an App needs exactly one of image or command (image runs on podman/docker nodes, command on process nodes) [schema]",
    ],
  },
  {
    name: "App with both image and command: one message at command",
    files: { ...BASE, "apps/web.yaml": `${APP}command: ["node", "x.js"]\n` },
    errors: [
      "apps/web.yaml:5:1: an App needs exactly one of image or command, and this one has both: keep image (containers) or command (a process) [schema]",
    ],
  },
  {
    name: "wrong type, saying what was found",
    files: { ...BASE, "apps/web.yaml": 'kind: App\nname: web\nimage: nginx\nport: "8080"\n' },
    errors: ['apps/web.yaml:4:7: port must be a whole number, not the string "8080" [schema]'],
  },
  {
    name: "empty value",
    files: { ...BASE, "apps/web.yaml": "kind: App\nname: web\nimage:\nport: 8080\n" },
    errors: ["apps/web.yaml:3:1: image must be a string, not empty (write a value after the colon) [schema]"],
  },
  {
    name: "enum value with a suggestion",
    files: {
      ...BASE,
      "nodes/n1.yaml": "kind: Node\nname: n1\naddress: 10.0.0.1\nroles: [worker, proxy]\nruntime: podmn\n",
    },
    errors: [
      'nodes/n1.yaml:5:10: runtime "podmn" is not one of podman, docker, process; did you mean "podman"? [schema]',
    ],
  },
  {
    name: "missing required field",
    files: { ...BASE, "domains/www.example.com.yaml": "kind: Domain\nhost: www.example.com\n" },
    errors: ['domains/www.example.com.yaml:1:1: Domain is missing the required field "app" [schema]'],
  },
  {
    name: "missing required field in a list item",
    files: { ...BASE, "apps/web.yaml": `${APP}volumes:\n  - name: data\n` },
    errors: ['apps/web.yaml:6:5: volumes[0] is missing the required field "path" [schema]'],
  },
  {
    name: "memory that is not an amount",
    files: { ...BASE, "apps/web.yaml": `${APP}resources:\n  memory: lots\n` },
    errors: [
      'apps/web.yaml:6:11: resources.memory "lots" is not an amount of memory: use a number with an optional unit K, M, G, T, Ki, Mi, Gi or Ti, like 256Mi (at most about 10 PB) [schema]',
    ],
  },
  {
    name: "host name that is not one",
    files: { ...BASE, "domains/www.example.com.yaml": "kind: Domain\nhost: WWW.example.com\napp: web\n" },
    errors: [
      `domains/www.example.com.yaml:2:7: host "WWW.example.com" is not a valid host name: use lowercase letters, digits, '-' and '.', like www.example.com (a leading '*.' makes a wildcard) [schema]`,
    ],
  },
  {
    name: "env variable name that is not valid (position at the key)",
    files: { ...BASE, "apps/web.yaml": `${APP}env:\n  OK: "1"\n  1BAD: x\n` },
    errors: [
      `apps/web.yaml:7:3: env variable name "1BAD" is not valid: use letters, digits and '_', not starting with a digit [schema]`,
    ],
  },
  {
    name: "env value that is not a string",
    files: { ...BASE, "apps/web.yaml": `${APP}env:\n  DEBUG: true\n` },
    // An env value is never repeated in a message (it may be a secret).
    errors: [
      "apps/web.yaml:6:10: env.DEBUG must be a string, not true or false: write the value in quotes [schema]",
    ],
  },
  {
    name: "duplicate list item",
    files: {
      ...BASE,
      "nodes/n1.yaml": "kind: Node\nname: n1\naddress: 10.0.0.1\nroles: [worker, proxy, worker]\n",
    },
    errors: ['nodes/n1.yaml:4:24: roles lists "worker" twice; list it once [schema]'],
  },
  {
    name: "portRange that is not a pair",
    files: { ...BASE, "nodes/n2.yaml": "kind: Node\nname: n2\naddress: 10.0.0.2\nportRange: [20000]\n" },
    errors: ["nodes/n2.yaml:4:12: portRange must have exactly 2 items: [low, high] [schema]"],
  },
  {
    name: "health path without a leading slash",
    files: { ...BASE, "apps/web.yaml": `${APP}health:\n  path: healthz\n` },
    errors: ['apps/web.yaml:6:9: health.path "healthz" must start with "/" [schema]'],
  },
  {
    name: "token hash that is not hex",
    files: { ...BASE, "nodes/n2.yaml": "kind: Node\nname: n2\naddress: 10.0.0.2\ntokenSha256: secret\n" },
    errors: [
      "nodes/n2.yaml:4:14: tokenSha256 must be 64 lowercase hex digits (the SHA-256 of the agent's token; `berth node add` writes it) [schema]",
    ],
  },
  {
    name: "several problems in one document are all reported, in order",
    files: { ...BASE, "apps/web.yaml": "kind: App\nname: web\nimage: 7\nreplicas: -2\nstrategy: fast\n" },
    errors: [
      'apps/web.yaml:3:8: image must be a string, not the number 7: write it in quotes, "7" [schema]',
      "apps/web.yaml:4:11: replicas must be >= 0 [schema]",
      'apps/web.yaml:5:11: strategy "fast" is not one of start-first, stop-first [schema]',
    ],
  },
  {
    name: "document without kind",
    files: { ...BASE, "apps/extra.yaml": "name: extra\nimage: nginx\n" },
    errors: [
      'apps/extra.yaml:1:1: document has no kind: add a line "kind: App", "kind: Domain", "kind: Node", "kind: Settings" or "kind: Secrets" [kind]',
    ],
  },
  {
    name: "unknown kind with a close known kind",
    files: { ...BASE, "apps/extra.yaml": "kind: Ap\nname: extra\n" },
    errors: ['apps/extra.yaml:1:7: unknown kind "Ap"; did you mean "App"? [kind]'],
  },
  {
    name: "unknown kind in the wrong case",
    files: { ...BASE, "apps/extra.yaml": "kind: app\nname: extra\n" },
    errors: ['apps/extra.yaml:1:7: unknown kind "app"; did you mean "App"? [kind]'],
  },
  {
    name: "unknown kind with nothing close",
    files: { ...BASE, "k8s.yaml": "apiVersion: apps/v1\nkind: Deployment\n" },
    errors: [
      'k8s.yaml:2:7: unknown kind "Deployment": use one of App, Domain, Node, Settings, Secrets [kind]',
    ],
  },
  {
    name: "a document that is a list",
    files: { ...BASE, "list.yaml": "- kind: App\n- kind: Node\n" },
    errors: ["list.yaml:1:1: a document must be a mapping (key: value lines) with a kind, not a list [kind]"],
  },
  {
    name: "problems in the second document of a file point into that document",
    files: {
      ...BASE,
      "more.yaml":
        "# two documents\nkind: App\nname: api\nimage: api:1\n---\nkind: App\nname: worker\nimage: w:1\nreplicas: x\n",
    },
    errors: ['more.yaml:9:11: replicas must be a whole number, not the string "x" [schema]'],
  },
];

describe("schema diagnostics", () => {
  it.each(cases)("$name", ({ files, errors }) => {
    expect(linesOf(files).errors).toEqual(errors);
  });

  it("the base repo is valid", () => {
    const { errors, warnings, result } = linesOf(BASE);
    expect(errors).toEqual([]);
    expect(warnings).toEqual([]);
    expect(result.config.apps.map((a) => a.spec.name)).toEqual(["web"]);
  });
});
