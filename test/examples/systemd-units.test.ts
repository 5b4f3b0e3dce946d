// The shipped systemd units (examples/systemd/*.service) pass `systemd-analyze verify` and are
// sandboxed: `systemd-analyze security --offline` rates each at or below its bound, and the figure
// each file's header states is the one measured (so the comment cannot drift from the file). The
// units name /usr/bin/berth; verify checks that the program exists, so the copy it reads names an
// executable file in a temp dir instead (the only change). What each sandbox must leave possible is
// checked on the file's lines: the agent's workloads outlive it (KillMode=process, no private mount
// namespace: podman's mounts must stay visible to the next agent), the reconciler writes its cache.
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { makeTempDir } from "../helpers/git-repo.js";
import { requireTool } from "../helpers/tools.js";

const dir = fileURLToPath(new URL("../../examples/systemd/", import.meta.url));
const ok = requireTool("systemd-analyze", ["--version"]);

/** A copy of the unit that names an existing executable for berth, in its own temp dir. */
function installable(unit: string): string {
  const tmp = makeTempDir("berth-unit-");
  const berth = join(tmp, "berth");
  writeFileSync(berth, "#!/bin/sh\nexit 0\n");
  chmodSync(berth, 0o755);
  const text = readFileSync(join(dir, unit), "utf8");
  expect(text).toContain("ExecStart=/usr/bin/berth ");
  const path = join(tmp, unit);
  writeFileSync(path, text.replaceAll("/usr/bin/berth", berth));
  return path;
}

function exposure(path: string): { score: number; verdict: string; report: string } {
  const r = spawnSync("systemd-analyze", ["security", "--offline=true", "--no-pager", path], {
    encoding: "utf8",
  });
  const report = `${r.stdout}${r.stderr}`;
  const m = /Overall exposure level for \S+: (\d+\.\d) (\S+)/.exec(report);
  if (!m) throw new Error(`no exposure level in:\n${report}`);
  return { score: Number(m[1]), verdict: m[2] as string, report };
}

const lines = (unit: string) =>
  readFileSync(join(dir, unit), "utf8")
    .split("\n")
    .filter((l) => !l.startsWith("#"));

describe.skipIf(!ok)("the shipped systemd units", () => {
  const units = [
    { unit: "berth-serve.service", bound: 2.0 },
    { unit: "berth-agent.service", bound: 7.5 },
  ];

  for (const { unit, bound } of units) {
    it(`${unit} passes systemd-analyze verify`, () => {
      const path = installable(unit);
      const r = spawnSync("systemd-analyze", ["verify", "--man=no", path], { encoding: "utf8" });
      expect(`${r.stdout}${r.stderr}`.trim()).toBe("");
      expect(r.status).toBe(0);
    });

    it(`${unit} is rated at most ${bound} by systemd-analyze security, the figure its header states`, () => {
      const { score, verdict, report } = exposure(installable(unit));
      expect(score, report).toBeLessThanOrEqual(bound);
      const header = readFileSync(join(dir, unit), "utf8");
      expect(header).toContain(`rates it ${score.toFixed(1)} ${verdict}`);
    });
  }

  it("the reconciler runs as its own user and writes only its state directory", () => {
    const l = lines("berth-serve.service");
    expect(l).toContain("User=berth");
    expect(l).toContain("ProtectSystem=strict");
    expect(l).toContain("StateDirectory=berth/reconciler");
    expect(l.join("\n")).toContain("--cache-dir /var/lib/berth/reconciler");
    // Node's JIT writes the code it runs: this line would make node abort.
    expect(l.some((x) => x.startsWith("MemoryDenyWriteExecute="))).toBe(false);
  });

  it("the agent keeps what podman and its workloads need", () => {
    const l = lines("berth-agent.service");
    expect(l).toContain("KillMode=process");
    // Options that put the agent in a private mount namespace (podman's mounts would be lost to
    // the next agent) or that its children cannot live with.
    const forbidden = [
      "ProtectSystem=",
      "ProtectHome=",
      "PrivateTmp=",
      "PrivateDevices=",
      "PrivateMounts=",
      "ProtectKernelTunables=",
      "ProtectKernelModules=",
      "ProtectKernelLogs=",
      "ProtectControlGroups=",
      "ProtectProc=",
      "ReadWritePaths=",
      "NoNewPrivileges=",
      "RestrictSUIDSGID=",
      "RestrictNamespaces=",
      "ProtectHostname=",
      "ProtectClock=",
      "MemoryDenyWriteExecute=",
      "User=",
      "DynamicUser=",
    ];
    for (const f of forbidden)
      expect(
        l.filter((x) => x.startsWith(f)),
        f,
      ).toEqual([]);
    const families = l.find((x) => x.startsWith("RestrictAddressFamilies="));
    for (const af of ["AF_INET", "AF_INET6", "AF_UNIX", "AF_NETLINK"]) expect(families).toContain(af);
    const caps = l.find((x) => x.startsWith("CapabilityBoundingSet=~")) ?? "";
    for (const kept of ["CAP_SYS_ADMIN", "CAP_NET_ADMIN", "CAP_SETUID", "CAP_MKNOD", "CAP_SYS_CHROOT"])
      expect(caps).not.toContain(kept);
  });

  it("systemd-analyze security rates an unsandboxed unit UNSAFE (the measure can fail)", () => {
    const path = installable("berth-agent.service");
    const bare = readFileSync(path, "utf8")
      .split("\n")
      .filter((x) => !/^(UMask|Restrict|Lock|Keyring|SystemCall|Capability)/.test(x))
      .join("\n");
    writeFileSync(path, bare);
    const { score, verdict } = exposure(path);
    expect(score).toBeGreaterThan(9);
    expect(verdict).toBe("UNSAFE");
    execFileSync("systemd-analyze", ["verify", "--man=no", path]);
  });
});
