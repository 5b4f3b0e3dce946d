// berth's own git object writer and ref CAS, checked against the real git binary: object ids
// equal `git hash-object`, trees and commits pass `git fsck`, updates keep other files, deletions
// drop empty folders, and compare-and-swap refuses a stale expectation.
import { writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { openGitDir, readFilesOf, writeCommitObject, writeTreeWith } from "../../reconciler/git/objects.js";
import { compareAndSwapRef, readRef } from "../../reconciler/git/refs.js";
import { useTempRepos } from "../helpers/git-repo.js";
import { requireTool } from "../helpers/tools.js";

const ok = requireTool("git");

describe.skipIf(!ok)("git object helpers", () => {
  const temp = useTempRepos();

  it("writes trees and commits git accepts, and updates them path by path", async () => {
    const repo = await temp.makeRepo({ "README.md": "hi\n" });
    const gd = openGitDir(`${repo.dir}/.git`);
    const files = new Map<string, string>([
      ["nodes/b.json", '{"b":1}\n'],
      ["nodes/a.json", '{"a":1}\n'],
      ["nodes-extra.json", "{}\n"],
      ["plan.json", "{}\n"],
    ]);
    const tree = await writeTreeWith(gd, null, files);
    const c1 = await writeCommitObject(gd, { tree, parents: [], message: "Publish one" });
    expect(repo.git("cat-file", "-t", c1)).toBe("commit");
    expect(repo.git("ls-tree", "-r", "--name-only", c1).split("\n")).toEqual([
      "nodes-extra.json",
      "nodes/a.json",
      "nodes/b.json",
      "plan.json",
    ]);
    writeFileSync(`${repo.dir}/probe.json`, '{"a":1}\n');
    expect(repo.git("rev-parse", `${c1}:nodes/a.json`)).toBe(repo.git("hash-object", "probe.json"));

    // Replace one file, delete the other in the folder, add one elsewhere; the rest stays.
    const tree2 = await writeTreeWith(
      gd,
      tree,
      new Map<string, string | null>([
        ["nodes/a.json", '{"a":2}\n'],
        ["nodes/b.json", null],
        ["deep/er/x.json", "1\n"],
      ]),
    );
    const c2 = await writeCommitObject(gd, { tree: tree2, parents: [c1], message: "second" });
    expect(repo.git("show", `${c2}:nodes/a.json`)).toBe('{"a":2}');
    expect(repo.git("show", `${c2}:plan.json`)).toBe("{}");
    expect(repo.git("ls-tree", "-r", "--name-only", c2)).not.toContain("nodes/b.json");
    expect(repo.git("log", "--format=%P %an <%ae> %s", "-1", c2)).toBe(
      `${c1} berth <berth@localhost> second`,
    );

    // Removing the folder's last file removes the folder.
    const tree3 = await writeTreeWith(gd, tree2, new Map([["deep/er/x.json", null]]));
    expect(repo.git("ls-tree", "--name-only", tree3)).not.toContain("deep");

    repo.git("update-ref", "refs/heads/check", c2);
    repo.git("fsck", "--strict", "--no-dangling");
    const back = await readFilesOf(gd, c2, ["nodes"]);
    expect([...back.keys()]).toEqual(["nodes/a.json"]);
  });

  it("computes the same blob ids as git hash-object", async () => {
    const repo = await temp.makeRepo({ "a.txt": "exactly this\n" });
    const gd = openGitDir(`${repo.dir}/.git`);
    const tree = await writeTreeWith(gd, null, new Map([["a.txt", "exactly this\n"]]));
    expect(tree).toBe(repo.git("rev-parse", "HEAD^{tree}"));
  });

  it("moves a ref only from the expected value", async () => {
    const repo = await temp.makeRepo({ "a.txt": "1\n" });
    const gitdir = `${repo.dir}/.git`;
    const c1 = repo.git("rev-parse", "HEAD");
    const c2 = await repo.commit({ "a.txt": "2\n" }, "two");
    expect(await compareAndSwapRef(gitdir, "refs/heads/berth/desired", c1, null)).toBe(true);
    expect(await compareAndSwapRef(gitdir, "refs/heads/berth/desired", c2, null)).toBe(false);
    expect(await compareAndSwapRef(gitdir, "refs/heads/berth/desired", c2, c1)).toBe(true);
    expect(await readRef(gitdir, "refs/heads/berth/desired")).toBe(c2);
    expect(repo.git("rev-parse", "berth/desired")).toBe(c2);
    // Packed refs count too: after git pack-refs the expectation is checked against packed-refs.
    repo.git("pack-refs", "--all");
    expect(await compareAndSwapRef(gitdir, "refs/heads/berth/desired", c1, c1)).toBe(false);
    expect(await compareAndSwapRef(gitdir, "refs/heads/berth/desired", c1, c2)).toBe(true);
    expect(repo.git("rev-parse", "berth/desired")).toBe(c1);
  });
});
