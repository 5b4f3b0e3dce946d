// Runs Prometheus' own linter on what berth exposes and ships: `promtool check metrics` reads an
// exposition on stdin, `promtool check rules` reads rule files. Returns promtool's verdict and
// output so a test can show what it complained about.
import { spawnSync } from "node:child_process";

export interface PromtoolResult {
  ok: boolean;
  output: string;
}

export function checkMetrics(exposition: string): PromtoolResult {
  const r = spawnSync("promtool", ["check", "metrics"], {
    input: exposition,
    encoding: "utf8",
    timeout: 60_000,
  });
  return {
    ok: r.status === 0 && r.stdout.trim() === "" && r.stderr.trim() === "",
    output: `${r.stdout}${r.stderr}`,
  };
}

export function checkRules(file: string): PromtoolResult {
  const r = spawnSync("promtool", ["check", "rules", file], { encoding: "utf8", timeout: 60_000 });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}
