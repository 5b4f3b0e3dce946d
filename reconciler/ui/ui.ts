// The operations page's server-side state, made once per API server: the tracker that learns from
// the event stream, the browser sessions, and the static assets.
import type { ApiBackend, HistoryBackend } from "../contracts.js";
import type { EventBus } from "../events.js";
import { Assets } from "./assets.js";
import { RowsCache } from "./rows-cache.js";
import { Sessions } from "./session.js";
import { OpsTracker } from "./tracker.js";

export interface Ui {
  tracker: OpsTracker;
  /** The overview's rows, recomputed only for what changed. */
  rows: RowsCache;
  assets: Assets;
  close(): void;
}

export async function createUi(events: EventBus, backend: ApiBackend & Partial<HistoryBackend>): Promise<Ui> {
  const tracker = new OpsTracker(events, backend);
  const assets = await Assets.load();
  return { tracker, assets, rows: new RowsCache(), close: () => tracker.close() };
}

export { Sessions };
