// Reads a commit's tree with isomorphic-git (pure JS): the fallback where no git binary is
// installed. Skips dot-folders and node_modules while walking, so it never reads their trees. I/O.
import fs from "node:fs";
import { isoGit } from "./iso-git.js";
import type { TreeEntry, TreeReader } from "./tree-entry.js";

export function isoReader(gitdir: string): TreeReader {
  // One object cache per reader: pack indexes are parsed once for all reads of a load.
  const cache = {};
  return {
    kind: "isomorphic-git",
    async list(commit, keep) {
      const git = await isoGit();
      const { commit: c } = await git.readCommit({ fs, gitdir, oid: commit, cache });
      const entries: TreeEntry[] = [];
      const walk = async (treeOid: string, prefix: string): Promise<void> => {
        const { tree } = await git.readTree({ fs, gitdir, oid: treeOid, cache });
        for (const e of tree) {
          const path = prefix === "" ? e.path : `${prefix}/${e.path}`;
          if (e.type === "tree") {
            if (!e.path.startsWith(".") && e.path !== "node_modules") await walk(e.oid, path);
          } else if (e.type === "blob" && e.mode !== "120000" && keep(path)) {
            entries.push({ path, oid: e.oid });
          }
        }
      };
      await walk(c.tree, "");
      return { subject: c.message.split("\n", 1)[0] ?? "", entries };
    },
    async blobs(oids, maxBytes, onBlob) {
      const git = await isoGit();
      for (const oid of oids) {
        // isomorphic-git cannot tell a blob's size without reading it.
        const { blob } = await git.readBlob({ fs, gitdir, oid, cache });
        const size = blob.byteLength;
        onBlob({ oid, size, content: size <= maxBytes ? blob : undefined });
      }
    },
  };
}
