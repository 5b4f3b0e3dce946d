// One file of a commit's tree, as both tree readers list it. Types only.

export interface TreeEntry {
  /** Repo-relative path with forward slashes. */
  path: string;
  /** Blob id. */
  oid: string;
  /** Byte size when the reader knows it without reading the blob. */
  size?: number;
}

/** Reads the config files of a commit: lists them, then reads only the blobs asked for. */
export interface TreeReader {
  readonly kind: "git" | "isomorphic-git";
  /** Every regular file (not symlink, not submodule) of the commit's tree that passes `keep`. */
  list(commit: string, keep: (path: string) => boolean): Promise<TreeEntry[]>;
  /** Contents of the given blobs. */
  blobs(oids: readonly string[]): Promise<Map<string, Uint8Array>>;
}
