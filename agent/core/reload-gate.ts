// When a proxy may load a new Caddy config without cutting requests short. Pure.
//
// Why (Caddy 2.6.2, modules/caddyhttp/reverseproxy/reverseproxy.go): a request whose try failed
// waits try_interval before the next one in `tryAgain`, selecting on the handler's context; a
// config load cancels the old config's context, so every request waiting there at that instant
// fails with the last error (502, or 503 "no upstreams available") instead of being retried. A
// request only waits after a failed try (which counts a passive failure on that upstream for
// fail_duration, longer than the wait) or when no upstream is available (all failing checks or
// counted failures). So a moment when no upstream has a counted failure is a moment when nothing
// waits to retry (but for an app that has no healthy upstream at all). Right after a load the
// health state starts over (it lives with the config), and requests may be dialling an upstream
// that vanished for up to dial_timeout before that failure is counted: a load waits that long
// after the previous one.

export interface UpstreamCount {
  address: string;
  fails: number;
}

export type GateVerdict = { quiet: true } | { quiet: false; why: string };

export function reloadGate(
  upstreams: readonly UpstreamCount[],
  msSinceLastLoad: number | null,
  settleMs: number,
): GateVerdict {
  if (msSinceLastLoad !== null && msSinceLastLoad < settleMs) {
    return { quiet: false, why: `the last load was ${Math.round(msSinceLastLoad)} ms ago` };
  }
  const failing = upstreams.filter((u) => u.fails > 0).map((u) => u.address);
  if (failing.length > 0) {
    return { quiet: false, why: `requests are being retried away from ${failing.sort().join(", ")}` };
  }
  return { quiet: true };
}
