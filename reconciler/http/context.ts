// What every route handler of the API server gets: the backend, the event bus, metrics, logger,
// limits and the small in-memory state the HTTP layer keeps (token index, delivery log, contacts,
// open long-polls and streams to end on close). Types and construction only.
import type { Logger } from "pino";
import type { LivenessBounds } from "../../core/status/liveness.js";
import type { NodeRequests } from "../channel/node-requests.js";
import type { ApiBackend } from "../contracts.js";
import type { EventBus } from "../events.js";
import type { ContactBook } from "../liveness/contacts.js";
import type { LogHub } from "../logs/hub.js";
import type { Metrics } from "../metrics.js";
import type { RestartCoordinator } from "../restart/coordinator.js";
import type { Sessions } from "../ui/session.js";
import type { Ui } from "../ui/ui.js";
import type { DeliveryLog } from "../webhooks/dedupe.js";
import type { PullRequestEvent } from "../webhooks/parse.js";
import type { TokenIndex } from "./node-auth.js";
import type { RefusalLog } from "./refusal-log.js";
import type { Turns } from "./turns.js";

export interface Limits {
  /** Largest request body accepted (status reports, webhooks); 413 beyond. */
  maxBodyBytes: number;
  /** Upper bound of `?wait=` on the desired document. */
  maxWaitSeconds: number;
  /**
   * The longest a long-poll is held before "no change" is answered, whatever the wait asked: an
   * open long-poll counts as contact, so this bounds how long a vanished agent looks present
   * (LivenessBounds.pollHoldMs).
   */
  pollHoldMs: number;
  /** Interval of SSE heartbeat comments. */
  sseHeartbeatMs: number;
  /** Long-polls woken by one publish that are answered per event-loop turn (see turns.ts). */
  wakeBatch: number;
  /** A request body (status report, webhook) must arrive within this time; 408 after. */
  bodyTimeoutMs: number;
  /** Webhook bodies read at once; more deliveries get 503 + Retry-After without being read. */
  maxWebhookBodies: number;
}

/** Optional extensions of ApiBackend: told of agent contact, for lastSeen and liveness. */
export interface SeenTracker {
  /** Called on every authenticated agent call. */
  seen(node: string, at: number): void;
  /** The backend's contact book: the server records every call and every held long-poll in it. */
  contacts?: ContactBook;
  /** The backend's liveness bounds: long-polls are held at most pollHoldMs. */
  livenessBounds?(): LivenessBounds;
}

/** Fields a handler adds to the request's log line (never a token, signature or body). */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface ApiContext {
  backend: ApiBackend & Partial<SeenTracker>;
  events: EventBus;
  metrics: Metrics;
  logger: Logger;
  limits: Limits;
  webhookSecret: string | undefined;
  /** SHA-256 hex of the admin token protecting the read APIs; undefined = read APIs open. */
  apiTokenSha256: string | undefined;
  onPullRequest: ((e: PullRequestEvent) => void) | undefined;
  deliveries: DeliveryLog;
  tokens: TokenIndex;
  /** Contact per node (calls, held long-polls): the backend's book, or the server's own. */
  contacts: ContactBook;
  /** Paces long-polls woken together by one publish. */
  wakeTurns: Turns;
  /** Callbacks that end a long-poll or stream early; run when the server closes. */
  closers: Set<() => void>;
  /** Requests held for agents (logs, restart) until they fetch them. */
  requests: NodeRequests;
  /** Open `berth logs` watches. */
  logs: LogHub;
  /** `berth restart`s under way. */
  restarts: RestartCoordinator;
  /** Webhook bodies being read now (bounded by limits.maxWebhookBodies). */
  webhookBodies: number;
  /** Where refused requests are logged, bounded per minute. */
  refusals: RefusalLog;
  /** Browser sessions of the operations page (their cookie also opens the read API). */
  sessions: Sessions;
  /** The operations page (reconciler/ui). */
  ui: Ui;
  /** berth's own alerting (GET /v1/alerts); absent: the route says alerting is not wired. */
  alerts: AlertsSource | undefined;
}

/** What GET /v1/alerts serves (reconciler/alerts/service.ts AlertService#view). */
export interface AlertsSource {
  view(): unknown;
}
