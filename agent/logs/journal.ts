// berth's own lines about an app on this node (`<stateDir>/logs/apps/<app>.log`): what the agent
// did to it and why — deploy steps, their outcome, restarts asked for with `berth restart` — in the
// marker format of process logs, so `berth logs` shows them among the app's output for every
// runtime (containers have no log file berth could write into). Appends are rare (one per action);
// a journal over 1 MiB is rotated once (`.1`).
import { appendFileSync, mkdirSync, renameSync, statSync } from "node:fs";
import { join } from "node:path";
import { formatMarker, logFiles } from "../core/log-parse.js";

const maxJournalBytes = 1024 * 1024;

export interface Journal {
  /** Appends one line about `app`. Never throws: a journal that cannot be written loses the line. */
  note(app: string, text: string): void;
  /** Path of an app's journal. */
  path(app: string): string;
}

export function createJournal(stateDir: string, now: () => number = Date.now): Journal {
  const dir = join(stateDir, "logs", "apps");
  let made = false;
  const path = (app: string) => join(dir, logFiles.journal(app));
  return {
    path,
    note(app, text) {
      try {
        if (!made) {
          mkdirSync(dir, { recursive: true, mode: 0o700 });
          made = true;
        }
        const file = path(app);
        try {
          if (statSync(file).size >= maxJournalBytes) renameSync(file, `${file}.1`);
        } catch {
          // no journal yet
        }
        appendFileSync(file, formatMarker(now(), text.replace(/\n/g, " ")), { mode: 0o600 });
      } catch {
        // A full disk loses a journal line; the agent goes on.
      }
    },
  };
}
