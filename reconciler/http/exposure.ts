// The secure defaults of `berth serve`: an API reachable beyond this host needs TLS (agents send
// bearer tokens, the admin token travels too) and an admin token for the read API (node names,
// commits, plans, events), unless the operator opts out by name. Decides only; the CLI refuses
// to start with these messages. Pure.
import { isLoopback } from "../../core/address.js";

export interface Exposure {
  /** The listen host (parseListen). */
  host: string;
  tls: boolean;
  apiToken: boolean;
  /** --allow-open-read-api: the read API may be open beyond loopback. */
  allowOpenReadApi: boolean;
  /** --allow-plain-http: plain HTTP beyond loopback (the network is encrypted otherwise). */
  allowPlainHttp: boolean;
}

/** What is wrong with listening this way; empty when it is safe (or explicitly allowed). */
export function exposureProblems(e: Exposure, listen: string): string[] {
  if (isLoopback(e.host)) return [];
  const where = e.host === "0.0.0.0" || e.host === "::" ? "every interface" : e.host;
  const problems: string[] = [];
  if (!e.tls && !e.allowPlainHttp) {
    problems.push(
      `--listen ${listen} serves plain HTTP on ${where}: agents would send their tokens in clear text. ` +
        "Pass --tls-cert-file and --tls-key-file, or listen on 127.0.0.1 behind a TLS proxy on this host, " +
        "or --allow-plain-http if the network is encrypted already (WireGuard, IPsec)",
    );
  }
  if (!e.apiToken && !e.allowOpenReadApi) {
    problems.push(
      `--listen ${listen} opens the read API (/v1/nodes, /v1/plan, /v1/events: node names, commits, plans) on ${where} to anyone. ` +
        "Pass --api-token-file FILE (clients send it: berth status --api-token-file FILE), " +
        "or --allow-open-read-api if everyone who can reach it may read it",
    );
  }
  return problems;
}

/**
 * The public webhook listener (--webhook-listen) serves only signed webhooks, so no read API to
 * protect; but GitLab sends its token in a header, which plain HTTP would carry in clear text.
 */
export function webhookExposureProblems(
  e: Pick<Exposure, "host" | "tls" | "allowPlainHttp">,
  listen: string,
): string[] {
  if (isLoopback(e.host) || e.tls || e.allowPlainHttp) return [];
  const where = e.host === "0.0.0.0" || e.host === "::" ? "every interface" : e.host;
  return [
    `--webhook-listen ${listen} serves plain HTTP on ${where}: a forge's webhook token (GitLab's X-Gitlab-Token) would travel in clear text. ` +
      "Pass --tls-cert-file and --tls-key-file (both listeners use them), or put a TLS proxy in front and listen on 127.0.0.1, " +
      "or --allow-plain-http if the network is encrypted already",
  ];
}
