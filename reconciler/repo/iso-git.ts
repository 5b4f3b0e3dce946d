// isomorphic-git, loaded on first use: it is a large module, and reading a working tree (the
// default of `berth validate` and `berth plan`) never needs it. I/O.
type IsoGit = typeof import("isomorphic-git").default;

let loading: Promise<IsoGit> | undefined;

export function isoGit(): Promise<IsoGit> {
  loading ??= import("isomorphic-git").then((m) => m.default);
  return loading;
}
