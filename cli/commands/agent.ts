// `berth agent`: runs the agent of one node until SIGINT/SIGTERM, then stops it gracefully and
// leaves the workloads running (a restarted agent adopts them). Flag parsing and the token file
// live here; everything else is agent/index.ts.
import { readFile } from "node:fs/promises";
import { isIP } from "node:net";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { parseListen } from "../../reconciler/http/listen.js";
import { readGlobals } from "../context.js";
import { UserError } from "../errors.js";

interface AgentFlags {
  node: string;
  url: string[];
  tokenFile: string;
  stateDir?: string;
  caddyAdmin?: string;
  httpListen: string;
  httpsListen: string;
  baseDir?: string;
  pollWait: string;
  dockerBin?: string;
  publishAddress?: string;
  identityFile?: string;
  metricsListen?: string;
}

/** /var/lib/berth/agent as root, else under $XDG_STATE_HOME (default ~/.local/state). */
export function defaultStateDir(): string {
  if (process.getuid?.() === 0) return "/var/lib/berth/agent";
  const base = process.env.XDG_STATE_HOME || join(homedir(), ".local", "state");
  return join(base, "berth", "agent");
}

const namePattern = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function checkUrl(flag: string, value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new UserError(`${flag} ${JSON.stringify(value)} is not a URL`, `e.g. ${flag} http://10.0.0.1:7070`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new UserError(`${flag} must be an http:// or https:// URL, got ${u.protocol}`);
  }
  return value;
}

function checkAddress(value: string): string {
  if (isIP(value) === 0) {
    throw new UserError(
      `--publish-address ${JSON.stringify(value)} is not an IP address`,
      "give one of this host's addresses, e.g. --publish-address 10.0.0.11 (0.0.0.0: every interface)",
    );
  }
  return value;
}

function checkListen(value: string): void {
  try {
    parseListen(value);
  } catch (err) {
    throw new UserError(
      (err as Error).message,
      "e.g. --metrics-listen 127.0.0.1:9101 (port 0 picks a free port)",
    );
  }
}

async function readToken(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new UserError(
      `cannot read --token-file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      "the file holds the node's token as printed once by `berth node add`",
    );
  }
  const token = text.trim();
  if (!token) throw new UserError(`--token-file ${file} is empty`, "write the node's token into it");
  return token;
}

export function register(program: Command): void {
  program
    .command("agent")
    .description("run the agent of one node: pull its desired state, apply it, report status")
    .requiredOption("--node <name>", "this node's name (as in nodes/<name>.yaml)")
    .option(
      "--url <url>",
      "reconciler base URL, e.g. https://10.0.0.1:7070; repeat it or separate with commas for several reconcilers (failover in that order)",
      (value: string, prev: string[]) => [
        ...prev,
        ...value
          .split(",")
          .map((u) => u.trim())
          .filter(Boolean),
      ],
      [] as string[],
    )
    .requiredOption("--token-file <file>", "file holding this node's bearer token")
    .option(
      "--state-dir <dir>",
      "where the agent keeps its state (default /var/lib/berth/agent, or under $XDG_STATE_HOME when not root)",
    )
    .option(
      "--caddy-admin <url>",
      "Caddy admin API URL; manages ingress on proxy nodes, e.g. http://127.0.0.1:2019",
    )
    .option("--http-listen <addr>", "address Caddy serves plain HTTP on", ":80")
    .option("--https-listen <addr>", "address Caddy serves HTTPS on", ":443")
    .option(
      "--base-dir <dir>",
      "directory relative workdirs of process apps are resolved against (default: current directory)",
    )
    .option("--poll-wait <seconds>", "long-poll wait (the reconciler answers within 8 s anyway)", "10")
    .option("--docker-bin <path>", "docker binary for the docker runtime (default: docker on PATH)")
    .option(
      "--publish-address <ip>",
      "this host's address for its workloads instead of the node's `address` (NAT); 0.0.0.0 publishes containers on every interface",
    )
    .option(
      "--identity-file <file>",
      "this node's age identity (berth node add / berth node identity write it): decrypts the secrets of the apps it starts",
    )
    .option(
      "--metrics-listen <host:port>",
      "serve Prometheus metrics on GET http://HOST:PORT/metrics (off by default)",
    )
    .action(async (flags: AgentFlags, cmd: Command) => {
      if (readGlobals(cmd).json) {
        throw new UserError(
          "berth agent has no JSON output: its log lines on stderr are JSON already",
          "drop --json",
        );
      }
      if (!namePattern.test(flags.node)) {
        throw new UserError(
          `--node ${JSON.stringify(flags.node)} is not a node name (a DNS label: a-z, 0-9, '-')`,
        );
      }
      if (flags.url.length === 0) {
        throw new UserError(
          "--url is required",
          "e.g. --url https://berth.internal:7070 (repeat it for several reconcilers)",
        );
      }
      const url = [...new Set(flags.url.map((u) => checkUrl("--url", u)))];
      const caddyAdmin = flags.caddyAdmin ? checkUrl("--caddy-admin", flags.caddyAdmin) : undefined;
      const pollWaitSeconds = Number(flags.pollWait);
      if (!Number.isInteger(pollWaitSeconds) || pollWaitSeconds < 1 || pollWaitSeconds > 300) {
        throw new UserError(`--poll-wait ${flags.pollWait} must be a whole number of seconds from 1 to 300`);
      }
      if (flags.metricsListen !== undefined) checkListen(flags.metricsListen);
      const token = await readToken(flags.tokenFile);
      // Loaded here, not at the top: other commands need none of the agent.
      const { startAgent } = await import("../../agent/index.js");
      const agent = await startAgent({
        node: flags.node,
        url,
        token,
        stateDir: resolve(flags.stateDir ?? defaultStateDir()),
        ...(caddyAdmin ? { caddyAdmin } : {}),
        httpListen: flags.httpListen,
        httpsListen: flags.httpsListen,
        ...(flags.baseDir ? { baseDir: resolve(flags.baseDir) } : {}),
        ...(flags.dockerBin ? { dockerBin: flags.dockerBin } : {}),
        ...(flags.publishAddress ? { publishAddress: checkAddress(flags.publishAddress) } : {}),
        ...(flags.identityFile ? { identityFile: resolve(flags.identityFile) } : {}),
        pollWaitSeconds,
        ...(flags.metricsListen ? { metricsListen: flags.metricsListen } : {}),
      });
      await new Promise<void>((done) => {
        const onSignal = () => {
          process.off("SIGINT", onSignal);
          process.off("SIGTERM", onSignal);
          // Workloads keep running: a restarted agent adopts them without restarting anything.
          agent.stop().then(done, done);
        };
        process.on("SIGINT", onSignal);
        process.on("SIGTERM", onSignal);
      });
    });
}
