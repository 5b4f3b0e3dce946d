// `berth up`: single-host mode (the quick start). Runs the reconciler on the repo, a local agent for
// its node and, when installed, a Caddy owned by berth; prints progress while it converges and a
// summary with URLs; Ctrl-C stops everything it started (--keep-running leaves the apps running).
import { createHash } from "node:crypto";
import { realpathSync } from "node:fs";
import { homedir } from "node:os";
import { basename, join, resolve } from "node:path";
import type { Command } from "commander";
import pino from "pino";
import { readAlertSecrets, SecretsFileError } from "../../reconciler/alerts/secrets.js";
import { painter, readGlobals } from "../context.js";
import { UserError } from "../errors.js";
import { describeAgentEvent, describeEvent, urls } from "../up/progress.js";
import { type SingleHost, startSingleHost } from "../up/single-host.js";

interface UpOptions {
  node?: string;
  listen: string;
  stateDir?: string;
  httpListen?: string;
  httpsListen?: string;
  caddy: boolean;
  keepRunning?: boolean;
  logLevel: string;
  alertSecretsFile?: string;
  identityFile?: string;
}

export function register(program: Command): void {
  program
    .command("up")
    .description("single-host mode: reconciler, local agent and Caddy in one process")
    .option("--node <name>", "node to run as (default: the repo's only node)")
    .option("--listen <host:port>", "reconciler API address", "127.0.0.1:7070")
    .option(
      "--state-dir <dir>",
      "where berth keeps its state (default: one dir per repo under /var/lib/berth/up as root, else ~/.local/state/berth/up)",
    )
    .option("--http-listen <addr>", "Caddy's HTTP address (default :80 as root, else 127.0.0.1:8080)")
    .option("--https-listen <addr>", "Caddy's HTTPS address (default :443 as root, else 127.0.0.1:8443)")
    .option("--no-caddy", "do not start Caddy (no ingress)")
    .option("--keep-running", "on exit leave the apps running (the next `berth up` adopts them)")
    .option("--log-level <level>", "JSON log level on stderr (info, debug, warn…)", "warn")
    .option(
      "--alert-secrets-file <file>",
      "YAML map of the secrets berth.yaml's alert receivers name (urlSecret, signingSecret)",
    )
    .option(
      "--identity-file <file>",
      "the node's age identity, for apps with secrets (default: <state-dir>/identity; berth node identity NODE --identity-file writes one)",
    )
    .action(async (opts: UpOptions, cmd: Command) => {
      const g = readGlobals(cmd);
      if (g.json) {
        throw new UserError(
          "berth up has no JSON output: it prints progress lines (its logs on stderr are JSON)",
          "drop --json; use berth status --json or berth events --json beside it",
        );
      }
      const paint = painter(g.color);
      const root = process.getuid?.() === 0;
      const httpListen = opts.httpListen ?? (root ? ":80" : "127.0.0.1:8080");
      const httpsListen = opts.httpsListen ?? (root ? ":443" : "127.0.0.1:8443");
      const stateDir =
        opts.stateDir ??
        join(
          root
            ? "/var/lib/berth/up"
            : join(process.env.XDG_STATE_HOME ?? join(homedir(), ".local/state"), "berth/up"),
          repoStateName(g.repo),
        );
      const logger = pino({ name: "berth", level: opts.logLevel }, pino.destination(2));
      const line = (s: string | null) => {
        if (s !== null) process.stdout.write(`${s}\n`);
      };
      let announced = "";
      const alertSecrets = opts.alertSecretsFile
        ? await readAlertSecrets(opts.alertSecretsFile).catch((err: unknown) => {
            if (err instanceof SecretsFileError) throw new UserError(err.message);
            throw err;
          })
        : undefined;
      let host: SingleHost | undefined;
      host = await startSingleHost({
        ...(alertSecrets ? { alertSecrets } : {}),
        repo: g.repo,
        ...(opts.node ? { node: opts.node } : {}),
        ...(opts.identityFile ? { identityFile: resolve(opts.identityFile) } : {}),
        listen: opts.listen,
        stateDir,
        httpListen,
        httpsListen,
        caddy: opts.caddy ? "auto" : "off",
        logger,
        onEvent: (e) => line(describeEvent(e, paint)),
        onNotice: (m) => line(paint("yellow", `notice: ${m}`)),
        onAgentEvent: (e) => {
          line(describeAgentEvent(e, paint));
          if (e.type !== "pass-finished" || !host) return;
          const key = `${e.hash}:${e.phase}`;
          if (key === announced) return;
          announced = key;
          if (e.phase === "converged") {
            const doc = host.reconciler.desired(host.node);
            const list = host.caddy ? urls(doc, httpListen, httpsListen) : [];
            line(
              paint("green", `converged: ${doc?.workloads.length ?? 0} workloads running on ${host.node}`),
            );
            for (const u of list) line(`  ${u}`);
          } else {
            line(
              paint("red", `${e.phase}: see \`berth status --url ${host.url}\` for the failing workloads`),
            );
          }
        },
      });
      const running = host;
      line(
        `berth up: node ${running.node}, API ${running.url}, state in ${stateDir}${running.caddy ? `, Caddy admin ${running.caddy.adminUrl}` : ""}`,
      );
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
      line(
        opts.keepRunning
          ? "stopping berth (apps keep running)…"
          : "stopping berth and everything it started…",
      );
      await running.stop({ keepRunning: opts.keepRunning === true });
    });
}

/**
 * The state dir name of a repo: its folder name and a digest of its real path, so two repos on one
 * machine never share agent state, process records or Caddy data (and the name says which is which).
 */
export function repoStateName(repo: string): string {
  let real = repo;
  try {
    real = realpathSync(repo);
  } catch {
    // a repo that does not exist fails later with its own message
  }
  const digest = createHash("sha256").update(real).digest("hex").slice(0, 12);
  const name =
    basename(real)
      .replace(/[^A-Za-z0-9._-]/g, "_")
      .slice(0, 40) || "repo";
  return `${name}-${digest}`;
}
