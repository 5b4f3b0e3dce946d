// ParseCache bookkeeping when a reader works ahead of loadFromFiles (peek, preparse): what it found
// or parsed counts as used by the load that follows, so that load's end keeps it even with
// keepLoads 1, and a file handed over as ConfigFile.parsed is neither looked up nor parsed again.
import { describe, expect, it } from "vitest";
import { type ConfigFile, loadFromFiles, ParseCache, preparse } from "../../core/config/index.js";
import { APP, NODE } from "./load-helpers.js";

describe("ParseCache ahead of a load", () => {
  it("keeps what was primed or peeked for the next load, even with keepLoads 1", () => {
    const cache = new ParseCache({ keepLoads: 1 });
    const app = preparse(cache, "blob-app", APP);
    const node = preparse(cache, "blob-node", NODE);
    expect(cache.parses).toBe(2);
    const files: ConfigFile[] = [
      { path: "apps/web.yaml", blobId: "blob-app", content: "", parsed: app },
      { path: "nodes/n1.yaml", blobId: "blob-node", content: "", parsed: node },
    ];
    const first = loadFromFiles(files, cache);
    expect(first.diagnostics).toEqual([]);
    expect(first.config.apps.map((a) => a.spec.name)).toEqual(["web"]);
    expect(cache.parses).toBe(2);
    // Both survived their own load's end: the next load finds them.
    expect(cache.peek("blob-app")).toBe(app);
    expect(cache.peek("blob-node")).toBe(node);
    // Peeked for the next load, which uses only the app: the node is dropped at its end.
    loadFromFiles([{ path: "apps/web.yaml", blobId: "blob-app", content: "", parsed: app }], cache);
    expect(cache.has("blob-app")).toBe(true);
    expect(cache.has("blob-node")).toBe(true);
    // A full load (a Node changed) without the old node: its end drops it.
    loadFromFiles(
      [
        { path: "apps/web.yaml", blobId: "blob-app", content: APP },
        { path: "nodes/n1.yaml", blobId: "blob-node-2", content: NODE.replace("cpu: 4", "cpu: 8") },
      ],
      cache,
    );
    expect(cache.has("blob-node")).toBe(false);
    expect(cache.has("blob-app")).toBe(true);
    expect(cache.parses).toBe(3);
  });

  it("does not parse a blob twice when primed again", () => {
    const cache = new ParseCache();
    const a = preparse(cache, "b", APP);
    expect(preparse(cache, "b", "kind: App\nname: other\n")).toBe(a);
    expect(cache.parses).toBe(1);
  });
});
