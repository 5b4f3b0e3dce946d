// The retry decision as a table: which failures are retried, after how long, and when berth stops.
import { describe, expect, it } from "vitest";
import {
  decideRetry,
  defaultRetryPolicy,
  type FailedResponse,
  parseRetryAfter,
} from "../../reconciler/forge/retry.js";

const now = Date.parse("2024-05-01T12:00:00Z");
const res = (status: number, headers: FailedResponse["headers"] = {}, bodyText = ""): FailedResponse => ({
  status,
  headers,
  bodyText,
});

describe("decideRetry", () => {
  const cases: [
    string,
    FailedResponse | undefined,
    number,
    { retry: boolean; reason: string; min?: number; max?: number },
  ][] = [
    [
      "403 with Retry-After seconds",
      res(403, { "retry-after": "3" }),
      1,
      { retry: true, reason: "retry-after", min: 3000, max: 3000 },
    ],
    [
      "429 with Retry-After date",
      res(429, { "retry-after": new Date(now + 5000).toUTCString() }),
      1,
      { retry: true, reason: "retry-after", min: 5000, max: 5000 },
    ],
    [
      "GitHub primary limit",
      res(403, { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(now / 1000 + 10) }),
      1,
      { retry: true, reason: "rate-limit-reset", min: 11_000, max: 11_000 },
    ],
    [
      "GitLab ratelimit headers",
      res(429, { "ratelimit-remaining": "0", "ratelimit-reset": String(now / 1000 + 2) }),
      1,
      { retry: true, reason: "rate-limit-reset", min: 3000, max: 3000 },
    ],
    [
      "secondary limit, no header",
      res(403, {}, '{"message":"You have exceeded a secondary rate limit"}'),
      1,
      { retry: true, reason: "secondary-rate-limit", min: 60_000, max: 60_000 },
    ],
    [
      "secondary limit grows",
      res(403, {}, "secondary rate limit"),
      2,
      { retry: true, reason: "secondary-rate-limit", min: 120_000, max: 120_000 },
    ],
    [
      "plain 403 is a permission problem",
      res(403, {}, '{"message":"Resource not accessible by integration"}'),
      1,
      { retry: false, reason: "not-retryable" },
    ],
    ["404", res(404), 1, { retry: false, reason: "not-retryable" }],
    ["422", res(422), 1, { retry: false, reason: "not-retryable" }],
    ["502 backs off", res(502), 1, { retry: true, reason: "server-error", min: 400, max: 600 }],
    ["503 backs off more", res(503), 3, { retry: true, reason: "server-error", min: 1600, max: 2400 }],
    ["network error", undefined, 1, { retry: true, reason: "network", min: 400, max: 600 }],
    ["attempts exhausted", res(502), 5, { retry: false, reason: "attempts-exhausted" }],
    [
      "reset an hour away is not waited for",
      res(403, { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(now / 1000 + 3600) }),
      1,
      { retry: false, reason: "wait-too-long", min: 3_601_000 },
    ],
  ];
  it.each(cases)("%s", (_name, r, attempt, want) => {
    const d = decideRetry(r, attempt, defaultRetryPolicy, now);
    expect(d.retry).toBe(want.retry);
    expect(d.reason).toBe(want.reason);
    if (want.min !== undefined) expect(d.delayMs).toBeGreaterThanOrEqual(want.min);
    if (want.max !== undefined) expect(d.delayMs).toBeLessThanOrEqual(want.max);
  });

  it("never waits less than a second on a Retry-After of 0", () => {
    expect(decideRetry(res(429, { "retry-after": "0" }), 1, defaultRetryPolicy, now)).toMatchObject({
      retry: true,
      delayMs: 1000,
    });
  });
});

describe("parseRetryAfter", () => {
  it("reads seconds, dates, and ignores garbage", () => {
    expect(parseRetryAfter("2", now)).toBe(2000);
    expect(parseRetryAfter(new Date(now + 7000).toUTCString(), now)).toBe(7000);
    expect(parseRetryAfter(new Date(now - 7000).toUTCString(), now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});
