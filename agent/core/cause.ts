// Why an action failed, in words, and whose failure it is (SPEC: every failure has an address:
// reconciler, agent, runtime or workload). The runtime and the health check report facts (an exit
// code, an HTTP status, a port that is taken); this module turns a fact into the one sentence an
// operator reads in `berth status`, events and the status branch. Pure.
import type { Cause } from "../../schema/index.js";

export type Where = Cause["where"];

/** What one health check saw, as data (the check's own text is kept in `detail`). */
export interface HealthObservation {
  /** e.g. "GET http://127.0.0.1:20017/healthz: HTTP 404". */
  detail: string;
  /** The HTTP status, when an answer came. */
  status?: number;
  /** Error code of a failed connection (ECONNREFUSED, ECONNRESET…), "timeout", or "loopback-only". */
  error?: string;
  /** What was checked: the path (HTTP) or null (TCP connect). */
  path: string | null;
  port: number;
  timeoutMs: number;
}

export type FailureFact =
  /** An instance exited (or was killed) without berth stopping it. */
  | {
      kind: "exited";
      code: number | null;
      signal: string | null;
      /** How long it ran, when known. */
      ranMs: number | null;
      /** Whether it exited while berth still waited for it to become healthy. */
      duringStart: boolean;
      output: readonly string[];
    }
  /** It runs but never passed its health check. */
  | {
      kind: "never-healthy";
      last: HealthObservation;
      checks: number;
      /** "container" or "process": says where the app must listen. */
      runtime: "process" | "container";
      /** Container port the app must listen on (containers only). */
      containerPort?: number;
      output: readonly string[];
    }
  | { kind: "image-missing"; image: string }
  | { kind: "image-pull"; image: string; detail: string }
  | { kind: "port-in-use"; port: number }
  | { kind: "workdir-missing"; path: string }
  | { kind: "command-missing"; command: string; detail: string }
  /** The runtime failed in a way berth has no words for: its own message. */
  | { kind: "runtime"; detail: string }
  /** A step of the agent ran out of time. */
  | { kind: "deadline"; step: string; ms: number; where: Where }
  /** Anything else the agent could not do (Caddy, state dir…). */
  | { kind: "agent"; detail: string };

const seconds = (ms: number): string =>
  ms < 1_000 ? `${Math.round(ms)} ms` : `${(ms / 1_000).toFixed(ms < 10_000 ? 1 : 0)} s`;

const signals: Record<number, string> = {
  1: "SIGHUP",
  2: "SIGINT",
  6: "SIGABRT",
  9: "SIGKILL",
  11: "SIGSEGV",
  13: "SIGPIPE",
  15: "SIGTERM",
};

/** `exited with code 1`, `was killed by SIGKILL`, `exited with code 137 (128 + SIGKILL: …)`. */
export function describeExit(code: number | null, signal: string | null): string {
  if (signal)
    return `was killed by ${signal}${signal === "SIGKILL" ? " (e.g. out of memory, or killed by hand)" : ""}`;
  if (code === null) return "exited (exit status not known: it was not started by this agent process)";
  const viaSignal = code > 128 && code < 160 ? signals[code - 128] : undefined;
  if (viaSignal)
    return `exited with code ${code} (128 + ${viaSignal}: it was killed${viaSignal === "SIGKILL" ? ", e.g. out of memory" : ""})`;
  return `exited with code ${code}`;
}

const telling =
  /error|exception|fatal|panic|cannot|can't|denied|not found|no such|failed|refused|invalid|missing/i;

/** The output line that most likely says why: the last one that sounds like an error, else the last one. */
export function tellingLine(output: readonly string[]): string | null {
  const lines = output.map((l) => l.trim()).filter((l) => l !== "");
  for (let i = lines.length - 1; i >= 0; i--) if (telling.test(lines[i] as string)) return lines[i] as string;
  return lines.at(-1) ?? null;
}

const clipLine = (s: string, max = 300): string => (s.length <= max ? s : `${s.slice(0, max - 1)}…`);

function httpWords(status: number, path: string): string {
  if (status === 404 || status === 410)
    return `answers ${status} Not Found: the app runs but has no ${path} (check health.path)`;
  if (status === 401 || status === 403)
    return `answers ${status}: the health path must answer without credentials`;
  if (status >= 500) return `answers ${status}: the app says it is not healthy`;
  if (status >= 400) return `answers ${status}`;
  return `answers ${status}`;
}

function healthWords(f: Extract<FailureFact, { kind: "never-healthy" }>): string {
  const o = f.last;
  const what = o.path === null ? `a TCP connection to port ${o.port}` : `GET ${o.path} on port ${o.port}`;
  let why: string;
  if (o.status !== undefined) why = `${what} ${httpWords(o.status, o.path ?? "/")}`;
  else if (o.error === "ECONNREFUSED") {
    why =
      f.runtime === "container"
        ? `nothing answers on host port ${o.port}: the app must listen on port ${f.containerPort ?? "(its port)"} inside the container, on 0.0.0.0`
        : `nothing listens on port ${o.port}: the app must listen on $PORT (${o.port})`;
  } else if (o.error === "timeout") why = `${what} gets no answer within ${seconds(o.timeoutMs)}`;
  // The app answers on 127.0.0.1 only: the check's own words say where it must listen.
  else if (o.error === "loopback-only") why = o.detail;
  else why = `${what} fails: ${o.error ?? o.detail}`;
  return `never became healthy after ${f.checks} check${f.checks === 1 ? "" : "s"}: ${why}`;
}

/** The cause of a failure: whose it is and one sentence saying what happened. */
export function causeOf(f: FailureFact): Cause {
  switch (f.kind) {
    case "exited": {
      const ran = f.ranMs === null ? "" : ` ${seconds(f.ranMs)} after it started`;
      const when = f.duringStart ? " (before it became healthy)" : "";
      const line = tellingLine(f.output);
      return {
        where: "workload",
        message: `${describeExit(f.code, f.signal)}${ran}${when}${line ? `; it printed: ${clipLine(line)}` : ""}`,
      };
    }
    case "never-healthy": {
      const c: Cause = { where: "workload", message: healthWords(f) };
      if (f.output.length > 0) c.output = [...f.output];
      return c;
    }
    case "image-missing":
      return {
        where: "runtime",
        message: `image ${f.image} is not on this node, and berth runs images without pulling them (--pull=never): pull or load it on the node`,
      };
    case "image-pull":
      return { where: "runtime", message: `cannot pull image ${f.image}: ${clipLine(f.detail, 500)}` };
    case "port-in-use":
      return {
        where: "runtime",
        message: `host port ${f.port} is taken by a program berth did not start: stop it, or give the node a portRange that does not overlap other services`,
      };
    case "workdir-missing":
      return {
        where: "runtime",
        message: `workdir ${f.path} does not exist on this node (or is not a directory): create it, or fix workdir`,
      };
    case "command-missing":
      return {
        where: "runtime",
        message: `cannot run ${JSON.stringify(f.command)}: ${f.detail} (is it installed, on PATH, and executable?)`,
      };
    case "runtime":
      return { where: "runtime", message: clipLine(f.detail, 1000) };
    case "deadline":
      return { where: f.where, message: `${f.step} took longer than ${seconds(f.ms)}; gave up` };
    case "agent":
      return { where: "agent", message: clipLine(f.detail, 1000) };
  }
}
