// `berth serve`: runs the reconciler (reconciler/reconciler.ts) and its HTTP API
// (reconciler/http/server.ts) until SIGINT/SIGTERM, then stops both gracefully. Reads secret
// files (remote token, webhook secret, forge token, API token) and passes their contents on;
// logs JSON lines with pino to stderr and never logs a secret. Wires forge commit statuses and
// pull-request plans (reconciler/pr) when berth.yaml names a forge and --forge-token-file is given.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { homedir, hostname } from "node:os";
import { join, resolve } from "node:path";
import { createSecureContext } from "node:tls";
import type { Command } from "commander";
import pino, { type Logger } from "pino";
import { defaultLivenessBounds, type LivenessBounds } from "../../core/status/liveness.js";
import { readAlertSecrets, SecretsFileError } from "../../reconciler/alerts/secrets.js";
import { createAlerting } from "../../reconciler/alerts/wire.js";
import { EventBus } from "../../reconciler/events.js";
import { redactUrl } from "../../reconciler/git/remote.js";
import { exposureProblems, webhookExposureProblems } from "../../reconciler/http/exposure.js";
import { parseListen } from "../../reconciler/http/listen.js";
import { startApiServer } from "../../reconciler/http/server.js";
import { createMetrics } from "../../reconciler/metrics.js";
import { createForgeIntegration, type ForgeIntegration } from "../../reconciler/pr/forge-integration.js";
import { createReconciler, type ReconcilerHooks } from "../../reconciler/reconciler.js";
import type { BranchSettings } from "../../reconciler/source/config-input.js";
import type { PullRequestEvent } from "../../reconciler/webhooks/parse.js";
import { readGlobals } from "../context.js";
import { UserError } from "../errors.js";

interface ServeFlags {
  listen: string;
  remote?: string;
  remoteTokenFile?: string;
  cacheDir?: string;
  interval?: string;
  webhookSecretFile?: string;
  forgeTokenFile?: string;
  apiTokenFile?: string;
  degradedAfter: string;
  statusBatch: string;
  webhookListen?: string;
  maxConnections?: string;
  maxConnectionsPerClient?: string;
  alertSecretsFile?: string;
  staleAfter?: string;
  lostAfter?: string;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  allowOpenReadApi?: boolean;
  allowPlainHttp?: boolean;
}

export function register(program: Command): void {
  program
    .command("serve")
    .description("run the reconciler: publish each commit of the tracked branch, serve agents, record status")
    .option(
      "--listen <host:port>",
      "address of the HTTP API; beyond loopback it needs TLS and --api-token-file",
      "127.0.0.1:7070",
    )
    .option("--tls-cert-file <file>", "serve HTTPS with this certificate (PEM, chain); re-read on SIGHUP")
    .option("--tls-key-file <file>", "the certificate's private key (PEM)")
    .option(
      "--allow-plain-http",
      "allow plain HTTP on a non-loopback --listen (the network is encrypted already)",
    )
    .option("--allow-open-read-api", "allow the read API without --api-token-file on a non-loopback --listen")
    .option(
      "--remote <url>",
      "config repo at an https URL (fetched on webhook and every --interval) instead of --repo",
    )
    .option(
      "--remote-token-file <file>",
      "file holding an access token for --remote (sent as HTTP basic auth)",
    )
    .option("--cache-dir <dir>", "bare git cache for --remote (default: under $XDG_CACHE_HOME/berth)")
    .option(
      "--interval <seconds>",
      "safety-net fetch interval (remote; default 60) or ref check (local; default 5)",
    )
    .option(
      "--webhook-secret-file <file>",
      "shared secret of the forge webhooks (without it webhooks are refused)",
    )
    .option(
      "--forge-token-file <file>",
      "forge API token for commit statuses and PR plans (berth.yaml `forge:` names the forge)",
    )
    .option(
      "--api-token-file <file>",
      "admin token protecting the read API (/v1/nodes, /v1/plan, /v1/events, /v1/alerts) and the operations page (/)",
    )
    .option(
      "--alert-secrets-file <file>",
      "YAML map of the secrets berth.yaml's alert receivers name (urlSecret, signingSecret)",
    )
    .option(
      "--degraded-after <seconds>",
      "a stall (publishing or status writes failing, the branch ahead of what is published) this long makes /healthz answer 503",
      "60",
    )
    .option(
      "--webhook-listen <host:port>",
      "a second listener serving only POST /v1/webhooks/{forge}: expose this one to the internet, keep --listen private",
    )
    .option("--max-connections <n>", "open connections on --listen (default 4096; lowered to fit ulimit -n)")
    .option("--max-connections-per-client <n>", "open connections from one address on --listen (default 256)")
    .option(
      "--status-batch <seconds>",
      "agents' changed statuses are committed at most once per this many seconds",
      "2",
    )
    .option("--stale-after <seconds>", "a node without contact for longer is stale (default 5)")
    .option("--lost-after <seconds>", "a node without contact for longer is lost (default 30)")
    .action(async (flags: ServeFlags, cmd: Command) => {
      const globals = readGlobals(cmd);
      if (globals.json) {
        throw new UserError(
          "berth serve has no JSON output: its log lines on stderr are JSON already",
          "drop --json; berth status --json and berth events --json read a running reconciler",
        );
      }
      let listenHost: string;
      try {
        listenHost = parseListen(flags.listen).host;
      } catch (err) {
        throw new UserError(
          (err as Error).message,
          "e.g. --listen 127.0.0.1:7070 (port 0 picks a free port)",
        );
      }
      let webhookHost: string | undefined;
      if (flags.webhookListen) {
        try {
          webhookHost = parseListen(flags.webhookListen).host;
        } catch (err) {
          throw new UserError(
            `--webhook-listen: ${(err as Error).message}`,
            "e.g. --webhook-listen 0.0.0.0:8443",
          );
        }
      }
      if ((flags.tlsCertFile === undefined) !== (flags.tlsKeyFile === undefined)) {
        throw new UserError("--tls-cert-file and --tls-key-file go together", "pass both, or neither");
      }
      const exposure = exposureProblems(
        {
          host: listenHost,
          tls: flags.tlsCertFile !== undefined,
          apiToken: flags.apiTokenFile !== undefined,
          allowOpenReadApi: flags.allowOpenReadApi === true,
          allowPlainHttp: flags.allowPlainHttp === true,
        },
        flags.listen,
      );
      if (flags.webhookListen && webhookHost !== undefined) {
        exposure.push(
          ...webhookExposureProblems(
            {
              host: webhookHost,
              tls: flags.tlsCertFile !== undefined,
              allowPlainHttp: flags.allowPlainHttp === true,
            },
            flags.webhookListen,
          ),
        );
      }
      if (exposure.length > 0) {
        throw new UserError(
          `refusing to start: ${exposure.join("; and ")}`,
          'see docs/operating.md, "A multi-node install"',
        );
      }
      const tls = flags.tlsCertFile
        ? await readTls(flags.tlsCertFile, flags.tlsKeyFile as string)
        : undefined;
      const budget = {
        ...(flags.maxConnections ? { maxConnections: count(flags.maxConnections, "--max-connections") } : {}),
        ...(flags.maxConnectionsPerClient
          ? { maxPerClient: count(flags.maxConnectionsPerClient, "--max-connections-per-client") }
          : {}),
      };
      const intervalMs = flags.interval === undefined ? undefined : seconds(flags.interval, "--interval", 1);
      const degradedAfterMs = seconds(flags.degradedAfter, "--degraded-after", 0.1);
      const statusBatchMs = seconds(flags.statusBatch, "--status-batch", 0.05);
      const liveness = livenessFlags(flags);
      const logger = pino({ name: "berth-serve" }, pino.destination(2));
      const events = new EventBus({ capacity: 1000 });
      const metrics = createMetrics();
      const forgeToken = flags.forgeTokenFile
        ? await readSecret(flags.forgeTokenFile, "--forge-token-file")
        : undefined;
      const remoteToken = flags.remoteTokenFile
        ? await readSecret(flags.remoteTokenFile, "--remote-token-file")
        : undefined;
      const hooks: ReconcilerHooks = {};
      let forge: ForgeIntegration | undefined;
      const alertSecrets = flags.alertSecretsFile
        ? await readAlertSecrets(flags.alertSecretsFile).catch((err: unknown) => {
            if (err instanceof SecretsFileError) throw new UserError(err.message);
            throw err;
          })
        : new Map<string, string>();
      const stateAt = flags.remote
        ? resolve(flags.cacheDir ?? defaultCacheDir(flags.remote))
        : resolve(globals.repo);
      const alerting = createAlerting({
        events,
        metrics,
        logger,
        secrets: alertSecrets,
        owner: `${hostname()}:${stateAt}`,
        userAgent: "berth-alerts",
      });

      const reconciler = await createReconciler({
        ...(flags.remote
          ? {
              remote: {
                url: flags.remote,
                ...(remoteToken ? { token: remoteToken } : {}),
                cacheDir: resolve(flags.cacheDir ?? defaultCacheDir(flags.remote)),
              },
            }
          : { repoDir: globals.repo }),
        ...(intervalMs !== undefined ? { pollIntervalMs: intervalMs } : {}),
        degradedAfterMs,
        statusBatchMs,
        events,
        logger,
        hooks,
        observers: [metrics, alerting.observer],
        extraRoles: alerting.extraRoles,
        onConfig: (s) => alerting.service.configure(s),
        liveness,
        // Wired before the first run, so its commit gets its statuses too.
        onSettings: (settings) => {
          if (forgeToken) forge = wireForge(settings, forgeToken, remoteToken, hooks, logger, events, flags);
        },
      }).catch((err: unknown) => {
        throw new UserError(`cannot open the config repo: ${(err as Error).message}`);
      });
      await reconciler.start();
      await alerting.service.start(reconciler, reconciler.branches());

      const webhookSecret = flags.webhookSecretFile
        ? await readSecret(flags.webhookSecretFile, "--webhook-secret-file")
        : undefined;
      const apiToken = flags.apiTokenFile
        ? await readSecret(flags.apiTokenFile, "--api-token-file")
        : undefined;
      const api = await startApiServer({
        listen: flags.listen,
        backend: reconciler,
        events,
        metrics,
        logger,
        ...(webhookSecret ? { webhookSecret } : {}),
        ...(apiToken ? { apiToken } : {}),
        ...(tls ? { tls } : {}),
        alerts: alerting.service,
        ...(forge ? { onPullRequest: (e: PullRequestEvent) => forge?.onPullRequest(e) } : {}),
        ...(flags.webhookListen ? { webhookListen: flags.webhookListen } : {}),
        budget,
      }).catch(async (err: unknown) => {
        await reconciler.stop();
        await alerting.close();
        const where = flags.webhookListen ? `${flags.listen} or ${flags.webhookListen}` : flags.listen;
        throw new UserError(
          `cannot listen on ${where}: ${(err as Error).message}`,
          (err as NodeJS.ErrnoException).code === "EADDRINUSE"
            ? "another process uses that port: pick another one"
            : undefined,
        );
      });

      await new Promise<void>((done) => {
        const onSignal = (signal: NodeJS.Signals) => {
          process.off("SIGINT", onSignal);
          process.off("SIGTERM", onSignal);
          logger.info({ signal }, "stopping");
          // The API first (long-polls end, agents reconnect later), then the loop and status writes.
          api
            .close()
            .then(() => reconciler.stop())
            .then(() => alerting.close())
            .then(() => forge?.close())
            .catch((err: unknown) => logger.error({ err: (err as Error).message }, "error while stopping"))
            .finally(() => {
              logger.info({}, "stopped");
              logger.flush();
              done();
            });
        };
        process.on("SIGINT", onSignal);
        process.on("SIGTERM", onSignal);
        // A renewed certificate is picked up without a restart (agents keep their connections).
        if (tls) {
          process.on("SIGHUP", () => {
            readTls(flags.tlsCertFile as string, flags.tlsKeyFile as string)
              .then((next) => {
                api.setTls(next);
                logger.info({ cert: flags.tlsCertFile }, "TLS certificate re-read");
              })
              .catch((err: unknown) =>
                logger.error(
                  { err: (err as Error).message },
                  "cannot re-read the TLS certificate; keeping the old one",
                ),
              );
          });
        }
      });
    });
}

/** Commit statuses (berth/plan, berth/deploy) as reconciler hooks, and pull-request plans. */
function wireForge(
  settings: BranchSettings,
  token: string,
  remoteToken: string | undefined,
  hooks: ReconcilerHooks,
  logger: Logger,
  events: EventBus,
  flags: ServeFlags,
): ForgeIntegration | undefined {
  const { forge, branch } = settings;
  if (!forge) {
    logger.warn({}, "--forge-token-file given but berth.yaml names no forge: no commit statuses or PR plans");
    return undefined;
  }
  const integration = createForgeIntegration({
    forge,
    token,
    trackedBranch: branch,
    ...(flags.remote ? { remoteUrl: flags.remote } : {}),
    // Pull-request heads are fetched from the same remote, with the same credentials.
    ...(remoteToken ? { remoteToken } : {}),
    prCacheDir: flags.cacheDir ? `${resolve(flags.cacheDir)}.pr` : join(cacheRoot(), "pr"),
    logger,
    events,
  });
  integration.attach(hooks);
  logger.info({ forge: forge.kind, repo: forge.repo }, "commit statuses and pull-request plans enabled");
  return integration;
}

async function readTls(certFile: string, keyFile: string): Promise<{ cert: Buffer; key: Buffer }> {
  const read = async (file: string, flag: string) => {
    try {
      return await readFile(file);
    } catch (err) {
      throw new UserError(
        `cannot read ${flag} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
  };
  const tls = { cert: await read(certFile, "--tls-cert-file"), key: await read(keyFile, "--tls-key-file") };
  try {
    createSecureContext(tls);
  } catch (err) {
    throw new UserError(
      `--tls-cert-file ${certFile} and --tls-key-file ${keyFile} are not a usable certificate and key: ${(err as Error).message}`,
      "both PEM; the key must belong to the certificate",
    );
  }
  return tls;
}

async function readSecret(file: string, flag: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new UserError(
      `cannot read ${flag} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  const secret = text.trim();
  if (!secret) throw new UserError(`${flag} ${file} is empty`, "write the secret into the file (one line)");
  return secret;
}

/** --stale-after / --lost-after as liveness bounds (the restart grace follows lost-after when longer). */
function livenessFlags(flags: ServeFlags): Partial<LivenessBounds> {
  const read = (flag: string, value: string | undefined): number | undefined => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0 || n > 86_400) {
      throw new UserError(`${flag} ${value} must be a number of seconds above 0 (at most 86400)`);
    }
    return Math.round(n * 1000);
  };
  const stale = read("--stale-after", flags.staleAfter) ?? defaultLivenessBounds.staleAfterMs;
  const lost = read("--lost-after", flags.lostAfter) ?? defaultLivenessBounds.lostAfterMs;
  if (lost <= stale) {
    throw new UserError(
      `--lost-after (${lost / 1000} s) must be longer than --stale-after (${stale / 1000} s)`,
      "a node is stale first, then lost",
    );
  }
  return { staleAfterMs: stale, lostAfterMs: lost };
}

function seconds(value: string, flag: string, min: number): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < min || n > 86_400) {
    throw new UserError(`${flag} ${value} must be a number of seconds from ${min} to 86400`);
  }
  return Math.round(n * 1000);
}

function count(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1_000_000) {
    throw new UserError(`${flag} ${value} must be a whole number from 1 to 1000000`);
  }
  return n;
}

/** /var/cache/berth as root, else $XDG_CACHE_HOME/berth. */
function cacheRoot(): string {
  if (process.getuid?.() === 0) return "/var/cache/berth";
  return join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "berth");
}

/** A cache dir per remote, named after the URL (without credentials). */
function defaultCacheDir(url: string): string {
  return join(cacheRoot(), createHash("sha256").update(redactUrl(url)).digest("hex").slice(0, 16));
}
