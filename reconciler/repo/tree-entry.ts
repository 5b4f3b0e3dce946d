// One file of a commit's tree, and the reader contract both tree readers (git binary,
// isomorphic-git) implement. Types only.

export interface TreeEntry {
  /** Repo-relative path with forward slashes. */
  path: string;
  /** Blob id. */
  oid: string;
}

export interface CommitListing {
  /** First line of the commit message. */
  subject: string;
  /** Every regular file (not symlink, not submodule) outside dot-folders and node_modules that passes `keep`. */
  entries: TreeEntry[];
}

/**
 * A blob as read: its bytes, or only its size when it is larger than the limit asked for (an
 * oversized file is reported by size and never read).
 */
export type BlobRead = { oid: string; size: number; content: Uint8Array | undefined };

/** Reads the config files of a commit: lists them, then reads only the blobs asked for. */
export interface TreeReader {
  readonly kind: "git" | "isomorphic-git";
  list(commit: string, keep: (path: string) => boolean): Promise<CommitListing>;
  /** Reads `oids`, handing each to `onBlob` as soon as it is read (so parsing can overlap reading). */
  blobs(oids: readonly string[], maxBytes: number, onBlob: (blob: BlobRead) => void): Promise<void>;
}
