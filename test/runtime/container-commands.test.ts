// The podman/docker command lines, asserted exactly (table), and the parsing of `ps --format json`
// output of both engines into Instances.
import { describe, expect, it } from "vitest";
import {
  containerName,
  inspectArgv,
  listArgv,
  rmArgv,
  runArgv,
  splitEnv,
  stopArgv,
} from "../../agent/runtime/container-commands.js";
import { runFailure } from "../../agent/runtime/container-driver.js";
import { parsePsOutput, toInstance } from "../../agent/runtime/container-instances.js";
import { workload } from "./support.js";

const hash = `sha256:${"b".repeat(64)}`;
const web = workload({
  id: "web-0",
  app: "web",
  hostPort: 20017,
  runtime: "podman",
  image: "localhost/web:2",
  port: 8080,
  env: { Z_LAST: "z", API_TOKEN: "s3cret", A_FIRST: "a b" },
  volumes: [{ name: "data", path: "/var/lib/web" }],
  specHash: hash,
});
const labels = (slot: string, node = "node-a") => [
  "--label",
  "berth.managed=true",
  "--label",
  "berth.app=web",
  "--label",
  "berth.workload=web-0",
  "--label",
  `berth.spec-hash=${hash}`,
  "--label",
  `berth.slot=${slot}`,
  "--label",
  `berth.node=${node}`,
];

describe("runArgv", () => {
  const cases: [string, string[], string[]][] = [
    [
      "podman, slot a, env from a file and the engine's environment (names only), volume named per app",
      runArgv(
        web,
        "a",
        { engine: "podman", node: "node-a" },
        { file: "/run/berth-env/berth-web-0-a.1a2b.env", fromEnvironment: ["Z_PEM", "A_PEM"] },
      ),
      [
        "podman",
        "run",
        "-d",
        "--init",
        "--pull=never",
        "--name",
        "berth-web-0-a",
        ...labels("a"),
        "-p",
        "20017:8080",
        "--env-file",
        "/run/berth-env/berth-web-0-a.1a2b.env",
        "-e",
        "A_PEM",
        "-e",
        "Z_PEM",
        "-v",
        "berth-web-data:/var/lib/web",
        "localhost/web:2",
      ],
    ],
    [
      "docker, slot b publishes hostPort+1 on a given address",
      runArgv(
        web,
        "b",
        { engine: "docker", node: "n2", publishAddress: "127.0.0.1" },
        { file: "/e", fromEnvironment: [] },
      ),
      [
        "docker",
        "run",
        "-d",
        "--init",
        "--pull=never",
        "--name",
        "berth-web-0-b",
        ...labels("b", "n2"),
        "-p",
        "127.0.0.1:20018:8080",
        "--env-file",
        "/e",
        "-v",
        "berth-web-data:/var/lib/web",
        "localhost/web:2",
      ],
    ],
    [
      "no port → no -p; a command is appended after the image",
      runArgv(
        { ...web, port: undefined, env: {}, volumes: [], command: ["/bin/busybox", "sleep", "60"] },
        "a",
        {
          engine: "podman",
          node: "node-a",
        },
      ),
      [
        "podman",
        "run",
        "-d",
        "--init",
        "--pull=never",
        "--name",
        "berth-web-0-a",
        ...labels("a"),
        "localhost/web:2",
        "/bin/busybox",
        "sleep",
        "60",
      ],
    ],
  ];
  it.each(cases)("%s", (_name, actual, expected) => {
    expect(actual).toEqual(expected);
  });

  it("never puts an env value on the command line", () => {
    for (const argv of cases.map((c) => c[1]))
      for (const v of Object.values(web.env)) expect(argv.join(" ")).not.toContain(v);
  });

  it("refuses a workload without an image", () => {
    expect(() => runArgv({ ...web, image: undefined }, "a", { engine: "podman", node: "n" })).toThrow(
      "workload web-0 has no image; the podman runtime runs images only",
    );
  });
});

describe("splitEnv", () => {
  it("puts every value without a line break in the env file, bytes after the first = kept", () => {
    expect(splitEnv({ B: " spaced ", A: "x=y#z", C: "" })).toEqual({
      fileText: "A=x=y#z\nB= spaced \nC=\n",
      fileKeys: ["A", "B", "C"],
      fromEnvironment: {},
    });
    expect(splitEnv({})).toEqual({ fileText: "", fileKeys: [], fromEnvironment: {} });
  });

  it("passes values with line breaks through the engine's environment", () => {
    const pem = "-----BEGIN KEY-----\nabc\n-----END KEY-----";
    expect(splitEnv({ TLS_KEY: pem, A: "1" })).toEqual({
      fileText: "A=1\n",
      fileKeys: ["A"],
      fromEnvironment: { TLS_KEY: pem },
    });
    expect(splitEnv({ CR: "a\rb" })).toMatchObject({ fromEnvironment: { CR: "a\rb" } });
  });

  it("refuses a multi-line value under a name the engine reads itself", () => {
    for (const k of [
      "PATH",
      "LD_PRELOAD",
      "CONTAINERS_CONF",
      "DOCKER_HOST",
      "HTTPS_PROXY",
      "XDG_RUNTIME_DIR",
    ])
      expect(splitEnv({ [k]: "a\nb" }), k).toEqual({
        error: `env ${k} holds a value with a line break, which podman and docker take only from their own environment, where ${k} would change how the engine itself runs: give the variable another name`,
      });
    expect(splitEnv({ MY_VAR: "a\nb" }, { MY_VAR: "set for the agent" })).toHaveProperty("error");
    // Single-line values under those names go through the file and change nothing for the engine.
    expect(splitEnv({ PATH: "/app/bin" })).toMatchObject({ fileText: "PATH=/app/bin\n" });
  });
});

describe("other command lines", () => {
  it.each([
    [
      listArgv({ engine: "podman", node: "node-a" }),
      "podman ps -a --format json --filter label=berth.managed=true --filter label=berth.node=node-a",
    ],
    [inspectArgv("docker", "abc"), "docker inspect --type container abc"],
    [stopArgv("podman", "abc", 10_000), "podman stop -t 10 abc"],
    [stopArgv("podman", "abc", 1_500), "podman stop -t 2 abc"],
    [stopArgv("podman", "abc", 0), "podman stop -t 0 abc"],
    [rmArgv("podman", "abc"), "podman rm -f abc"],
  ])("%j", (argv, expected) => {
    expect(argv.join(" ")).toBe(expected);
  });

  it("names containers after workload and slot", () => {
    expect(containerName("web-0", "b")).toBe("berth-web-0-b");
  });
});

const managedLabels = {
  "berth.managed": "true",
  "berth.app": "web",
  "berth.workload": "web-0",
  "berth.spec-hash": hash,
  "berth.slot": "a",
  "berth.node": "node-a",
};

describe("parsing ps output", () => {
  it("reads podman's JSON array and maps states", () => {
    const out = JSON.stringify([
      {
        Id: "c1",
        Names: ["berth-web-0-a"],
        Labels: managedLabels,
        State: "running",
        ExitCode: 0,
        Restarts: 2,
        Ports: [{ host_ip: "127.0.0.1", container_port: 8080, host_port: 20017, range: 1, protocol: "tcp" }],
      },
      {
        Id: "c2",
        Names: ["berth-web-0-b"],
        Labels: { ...managedLabels, "berth.slot": "b" },
        State: "exited",
        ExitCode: 137,
        ExitedAt: 1796279577,
        Ports: [],
      },
      {
        Id: "c3",
        Names: ["berth-web-0-b"],
        Labels: { ...managedLabels, "berth.slot": "b" },
        State: "created",
        ExitCode: 0,
        Ports: null,
      },
      { Id: "c4", Names: ["someone-else"], Labels: { app: "x" }, State: "running" },
    ]);
    expect(parsePsOutput(out).map((c) => toInstance(c, 5_000))).toEqual([
      {
        ref: "c1",
        name: "berth-web-0-a",
        workloadId: "web-0",
        app: "web",
        specHash: hash,
        slot: "a",
        port: 20017,
        restarts: 2,
        state: "running",
      },
      {
        ref: "c2",
        name: "berth-web-0-b",
        workloadId: "web-0",
        app: "web",
        specHash: hash,
        slot: "b",
        port: 0,
        restarts: 0,
        state: "exited",
        lastError: "exited with code 137",
        exit: { code: 137, signal: null, at: 1796279577_000 },
      },
      {
        ref: "c3",
        name: "berth-web-0-b",
        workloadId: "web-0",
        app: "web",
        specHash: hash,
        slot: "b",
        port: 0,
        restarts: 0,
        state: "exited",
        lastError: "created but not started",
      },
      null,
    ]);
  });

  it("reads docker's JSON lines (labels as a string, names as a string)", () => {
    const labelText = Object.entries(managedLabels)
      .map(([k, v]) => `${k}=${v}`)
      .join(",");
    const out = [
      JSON.stringify({
        ID: "d1",
        Names: "berth-web-0-a",
        Labels: labelText,
        State: "running",
        Status: "Up 3 minutes",
        Ports: "127.0.0.1:20017->8080/tcp",
      }),
      JSON.stringify({
        ID: "d2",
        Names: "berth-web-0-a",
        Labels: labelText,
        State: "exited",
        Status: "Exited (1) 2 seconds ago",
        Ports: "",
      }),
    ].join("\n");
    expect(parsePsOutput(out).map((c) => toInstance(c, 5_000))).toEqual([
      {
        ref: "d1",
        name: "berth-web-0-a",
        workloadId: "web-0",
        app: "web",
        specHash: hash,
        slot: "a",
        port: 20017,
        restarts: 0,
        state: "running",
      },
      {
        ref: "d2",
        name: "berth-web-0-a",
        workloadId: "web-0",
        app: "web",
        specHash: hash,
        slot: "a",
        port: 0,
        restarts: 0,
        state: "exited",
        lastError: "exited with code 1",
        exit: { code: 1, signal: null, at: 5_000 },
      },
    ]);
  });

  it("reads an empty listing", () => {
    expect(parsePsOutput("")).toEqual([]);
    expect(parsePsOutput("[]\n")).toEqual([]);
  });
});

describe("runFailure (what a failed run says, as a fact)", () => {
  const cases: { name: string; stderr: string; port: number | null; want: unknown }[] = [
    {
      name: "podman --pull=never, image not on the node (the name may even say pull)",
      stderr: "Error: localhost/unpullable-app:2: image not known",
      port: null,
      want: { kind: "image-missing", image: "localhost/unpullable-app:2" },
    },
    {
      name: "docker: no such image",
      stderr: "Error response from daemon: No such image: localhost/unpullable-app:2",
      port: null,
      want: { kind: "image-missing", image: "localhost/unpullable-app:2" },
    },
    {
      name: "a pull that was tried and failed",
      stderr:
        'Trying to pull 127.0.0.1:1/app:2...\nError: initializing source docker://127.0.0.1:1/app:2: pinging container registry 127.0.0.1:1: Get "https://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused',
      port: null,
      want: {
        kind: "image-pull",
        image: "localhost/unpullable-app:2",
        detail:
          'initializing source docker://127.0.0.1:1/app:2: pinging container registry 127.0.0.1:1: Get "https://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused',
      },
    },
    {
      name: "a host port in use",
      stderr: "Error: rootlessport listen tcp 127.0.0.1:20017: bind: address already in use",
      port: 20017,
      want: { kind: "port-in-use", port: 20017 },
    },
    {
      name: "anything else: the engine's words",
      stderr: "Error: OCI runtime error: something odd",
      port: null,
      want: {
        kind: "runtime",
        detail: "starting x: `podman run …` exited 126: Error: OCI runtime error: something odd",
      },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(
        runFailure(
          c.stderr,
          "localhost/unpullable-app:2",
          c.port,
          "starting x: `podman run …` exited 126: Error: OCI runtime error: something odd",
        ),
      ).toEqual(c.want);
    });
  }
});
