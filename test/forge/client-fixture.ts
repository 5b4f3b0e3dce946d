// A recording forge of one kind with a real forge client pointed at it and a captured log: the
// starting point of every test that talks to a forge. Retries wait 50 ms instead of seconds.
import { createForgeClient, type ForgeClient } from "../../reconciler/forge/client.js";
import { type ForgeKind, type RecordingForge, startRecordingForge } from "../helpers/recording-forge.js";
import { type CapturedLog, captureLog } from "./log-capture.js";

export async function recordingForgeClient(
  kind: ForgeKind,
): Promise<{ forge: RecordingForge; client: ForgeClient; log: CapturedLog }> {
  const forge = await startRecordingForge({ kind });
  const log = captureLog();
  const client = createForgeClient({
    kind,
    apiUrl: forge.url,
    repo: forge.repo,
    token: forge.token,
    logger: log.logger,
    retry: { baseDelayMs: 50 },
  });
  return { forge, client, log };
}
