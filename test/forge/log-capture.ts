// A pino logger whose JSON lines are kept in memory, so tests can check what was (and was not) logged.
import { Writable } from "node:stream";
import { type Logger, pino } from "pino";

export interface CapturedLog {
  logger: Logger;
  lines: string[];
  /** Parsed records. */
  records(): Record<string, unknown>[];
}

export function captureLog(): CapturedLog {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split("\n")) if (l.trim() !== "") lines.push(l);
      cb();
    },
  });
  const logger = pino({ level: "debug" }, stream);
  return { logger, lines, records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}
