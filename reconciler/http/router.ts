// Maps a method and path to one of the API's routes. Pure: no request objects, so every path
// can be checked in a table test. Knows which methods each path allows (for 405 + Allow).

export type RouteName =
  | "healthz"
  | "metrics"
  | "nodes"
  | "desired"
  | "status"
  | "webhook"
  | "plan"
  | "events"
  | "requests"
  | "log-upload"
  | "request-report"
  | "app-logs"
  | "app-restart"
  | "alerts"
  | "ui-overview"
  | "ui-app"
  | "ui-node"
  | "ui-history"
  | "ui-generation"
  | "ui-login"
  | "ui-logout"
  | "ui-fragment-overview"
  | "ui-fragment-app"
  | "ui-fragment-node"
  | "ui-fragment-history"
  | "ui-asset";

export type RouteMatch =
  | { kind: "route"; route: RouteName; params: Record<string, string> }
  | { kind: "not_found" }
  | { kind: "method_not_allowed"; allow: string[] };

interface RouteDef {
  route: RouteName;
  methods: string[];
  /** Path segments; a segment starting with ':' captures a parameter. */
  segments: string[];
}

const read = ["GET", "HEAD"];
const table: RouteDef[] = [
  { route: "healthz", methods: read, segments: ["healthz"] },
  { route: "metrics", methods: read, segments: ["metrics"] },
  { route: "nodes", methods: read, segments: ["v1", "nodes"] },
  { route: "desired", methods: read, segments: ["v1", "nodes", ":node", "desired"] },
  { route: "status", methods: ["PUT"], segments: ["v1", "nodes", ":node", "status"] },
  { route: "webhook", methods: ["POST"], segments: ["v1", "webhooks", ":forge"] },
  { route: "plan", methods: read, segments: ["v1", "plan"] },
  { route: "events", methods: read, segments: ["v1", "events"] },
  { route: "requests", methods: read, segments: ["v1", "nodes", ":node", "requests"] },
  { route: "log-upload", methods: ["POST"], segments: ["v1", "nodes", ":node", "logs", ":id"] },
  {
    route: "request-report",
    methods: ["POST"],
    segments: ["v1", "nodes", ":node", "requests", ":id", "report"],
  },
  { route: "app-logs", methods: read, segments: ["v1", "apps", ":app", "logs"] },
  { route: "app-restart", methods: ["POST"], segments: ["v1", "apps", ":app", "restart"] },
  { route: "alerts", methods: read, segments: ["v1", "alerts"] },
  // The operations page (reconciler/ui): HTML for browsers.
  { route: "ui-overview", methods: read, segments: [""] },
  { route: "ui-app", methods: read, segments: ["apps", ":app"] },
  { route: "ui-node", methods: read, segments: ["nodes", ":node"] },
  { route: "ui-history", methods: read, segments: ["history"] },
  { route: "ui-generation", methods: read, segments: ["history", ":generation"] },
  { route: "ui-login", methods: [...read, "POST"], segments: ["login"] },
  { route: "ui-logout", methods: ["POST"], segments: ["logout"] },
  { route: "ui-fragment-overview", methods: read, segments: ["ui", "fragments", "overview"] },
  { route: "ui-fragment-app", methods: read, segments: ["ui", "fragments", "app", ":app"] },
  { route: "ui-fragment-node", methods: read, segments: ["ui", "fragments", "node", ":node"] },
  { route: "ui-fragment-history", methods: read, segments: ["ui", "fragments", "history"] },
  { route: "ui-asset", methods: read, segments: ["ui", "assets", ":name"] },
];

function matchSegments(def: RouteDef, parts: string[]): Record<string, string> | undefined {
  if (def.segments.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const want = def.segments[i] as string;
    const got = parts[i] as string;
    if (want.startsWith(":")) {
      if (got === "") return undefined;
      try {
        params[want.slice(1)] = decodeURIComponent(got);
      } catch {
        return undefined;
      }
    } else if (want !== got) return undefined;
  }
  return params;
}

/** `pathname` without the query string; a trailing slash is tolerated. */
export function matchRoute(method: string, pathname: string): RouteMatch {
  const parts = pathname.replace(/^\/+|\/+$/g, "").split("/");
  const allow: string[] = [];
  for (const def of table) {
    const params = matchSegments(def, parts);
    if (!params) continue;
    if (def.methods.includes(method)) return { kind: "route", route: def.route, params };
    allow.push(...def.methods);
  }
  return allow.length > 0 ? { kind: "method_not_allowed", allow } : { kind: "not_found" };
}

/** Splits a request target into pathname and query (cheaper than `new URL` on the hot path). */
export function splitTarget(target: string): { pathname: string; query: URLSearchParams } {
  const q = target.indexOf("?");
  return q === -1
    ? { pathname: target, query: new URLSearchParams() }
    : { pathname: target.slice(0, q), query: new URLSearchParams(target.slice(q + 1)) };
}
