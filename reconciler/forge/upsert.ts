// Keeps exactly one plan comment per pull request: finds it again by the hidden marker on its first
// line, updates it in place, and creates it only when none exists. A create is never blindly
// resent: after a failed create the comments are listed again, because the forge may have stored
// the comment even though the answer was lost.
import type { Logger } from "pino";
import type { ForgeComment, ForgeEndpoints } from "./endpoints.js";
import { ForgeApiError } from "./http.js";
import { backoff } from "./retry.js";

/** First line of every berth plan comment (core/views/markdown.ts writes it). */
export const PLAN_MARKER = "<!-- berth-plan -->";

export function hasPlanMarker(body: string): boolean {
  return body.trimStart().startsWith(PLAN_MARKER);
}

/** Puts the marker first when missing and cuts the body to the forge's limit, saying so. */
export function fitCommentBody(body: string, max: number): string {
  const withMarker = hasPlanMarker(body) ? body : `${PLAN_MARKER}\n${body}`;
  if (withMarker.length <= max) return withMarker;
  const note = `\n\n> **Truncated:** this comment exceeded the forge's limit of ${max} characters. Run \`berth plan --format text\` for the full plan.\n`;
  return withMarker.slice(0, max - note.length) + note;
}

export interface UpsertResult {
  id: string;
  created: boolean;
  url?: string;
}

const sleepMs = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function upsertComment(
  ep: ForgeEndpoints,
  pr: number,
  rawBody: string,
  known: Map<number, string>,
  logger: Logger,
  opts: { maxCreateTries?: number; sleep?: (ms: number) => Promise<void> } = {},
): Promise<UpsertResult> {
  const body = fitCommentBody(rawBody, ep.maxCommentLength);
  const maxCreateTries = opts.maxCreateTries ?? 4;
  const sleep = opts.sleep ?? sleepMs;
  let id = known.get(pr);
  let createTries = 0;
  for (;;) {
    if (id !== undefined) {
      try {
        const c = await ep.updateComment(pr, id, body);
        known.set(pr, id);
        return { id, created: false, url: c.url };
      } catch (e) {
        // Someone deleted our comment: forget it and look again (or create a new one).
        if (!(e instanceof ForgeApiError && e.status === 404)) throw e;
        known.delete(pr);
        id = undefined;
      }
    }
    const existing: ForgeComment | undefined = (await ep.listComments(pr)).find((c) => hasPlanMarker(c.body));
    if (existing) {
      id = existing.id;
      continue;
    }
    createTries++;
    try {
      const c = await ep.createComment(pr, body);
      known.set(pr, c.id);
      return { id: c.id, created: true, url: c.url };
    } catch (e) {
      if (!(e instanceof ForgeApiError && e.transient) || createTries >= maxCreateTries) throw e;
      const delayMs = e.retryAfterMs ?? backoff(createTries, 1000);
      logger.warn(
        { pr, delayMs, status: e.status },
        "creating the plan comment failed; listing comments again before retrying",
      );
      await sleep(delayMs);
    }
  }
}
