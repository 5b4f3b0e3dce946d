import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { configValidator, healthDefaults, validateDesired } from "../schema/index.js";

describe("schemas", () => {
  it("generated types and validators are up to date with schema/*.schema.json", () => {
    // Each throws (exit 1) when its generated file differs from what the schemas generate.
    expect(() => execFileSync("node", ["scripts/gen-types.mjs", "--check"], { stdio: "pipe" })).not.toThrow();
    expect(() =>
      execFileSync("node", ["scripts/gen-validators.mjs", "--check"], { stdio: "pipe" }),
    ).not.toThrow();
  });

  it("fills defaults at load", () => {
    const app: Record<string, unknown> = { kind: "App", name: "web", image: "nginx" };
    expect(configValidator("App")(app)).toBe(true);
    expect(app).toMatchObject({ replicas: 1, strategy: "start-first" });
    const node: Record<string, unknown> = { kind: "Node", name: "a", address: "10.0.0.1" };
    expect(configValidator("Node")(node)).toBe(true);
    expect(node).toMatchObject({
      roles: ["worker"],
      portRange: [20000, 29999],
      runtime: "podman",
      cordon: false,
    });
    const domain: Record<string, unknown> = { kind: "Domain", host: "example.com", app: "web" };
    expect(configValidator("Domain")(domain)).toBe(true);
    expect(domain).toMatchObject({ path: "/", tls: "auto" });
    expect(healthDefaults()).toEqual({
      intervalSeconds: 2,
      timeoutSeconds: 2,
      startPeriodSeconds: 30,
      healthyThreshold: 1,
      unhealthyThreshold: 3,
    });
  });

  it("rejects an app with both image and command", () => {
    expect(configValidator("App")({ kind: "App", name: "x", image: "a", command: ["b"] })).toBe(false);
  });

  it("rejects a desired document with an unknown field", () => {
    const ok = validateDesired()({
      apiVersion: "berth/v1",
      node: "a",
      source: { branch: "main", commit: "x" },
      hash: `sha256:${"0".repeat(64)}`,
      workloads: [],
      routes: [],
      extra: 1,
    });
    expect(ok).toBe(false);
  });
});
