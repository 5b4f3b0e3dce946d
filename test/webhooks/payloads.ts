// Webhook payloads for the tests: GitHub's own examples from @octokit/webhooks-examples, and
// hand-written ones in the documented shapes of Gitea, GitLab and Bitbucket Cloud. Signatures are
// computed here with node:crypto, independently of the verifier under test.
import { createHmac } from "node:crypto";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
// biome-ignore lint/suspicious/noExplicitAny: example payloads are untyped JSON
type Payload = Record<string, any>;
type Example = { name: string; examples: Payload[] };
const githubExamples = require("@octokit/webhooks-examples") as Example[];

export function githubExample(event: string, pick: (p: Payload) => boolean = () => true): Payload {
  const found = githubExamples.find((e) => e.name === event)?.examples.find(pick);
  if (!found) throw new Error(`no GitHub example for ${event}`);
  return structuredClone(found);
}

export const hmacHex = (secret: string, body: string | Buffer) =>
  createHmac("sha256", secret).update(body).digest("hex");

export const sha1 = "1111111111111111111111111111111111111111";
export const sha2 = "2222222222222222222222222222222222222222";

export function giteaPush(branch: string, after = sha1) {
  return {
    ref: `refs/heads/${branch}`,
    before: "0".repeat(40),
    after,
    compare_url: "https://codeberg.org/acme/config/compare/x...y",
    commits: [{ id: after, message: "change\n" }],
    repository: {
      id: 7,
      name: "config",
      full_name: "acme/config",
      clone_url: "https://codeberg.org/acme/config.git",
    },
    pusher: { login: "alice" },
  };
}

export function giteaPullRequest(action: string, number = 12) {
  return {
    action,
    number,
    pull_request: {
      id: 99,
      number,
      head: {
        ref: "feature",
        sha: sha2,
        repo: { full_name: "bob/config", clone_url: "https://codeberg.org/bob/config.git" },
      },
      base: {
        ref: "main",
        sha: sha1,
        repo: { full_name: "acme/config", clone_url: "https://codeberg.org/acme/config.git" },
      },
    },
    repository: { full_name: "acme/config", clone_url: "https://codeberg.org/acme/config.git" },
  };
}

export function gitlabPush(branch: string, after = sha1) {
  return {
    object_kind: "push",
    event_name: "push",
    before: "0".repeat(40),
    after,
    ref: `refs/heads/${branch}`,
    checkout_sha: after,
    project: {
      id: 15,
      path_with_namespace: "acme/infra/config",
      git_http_url: "https://gitlab.example.com/acme/infra/config.git",
    },
    commits: [{ id: after, message: "change" }],
    total_commits_count: 1,
  };
}

export function gitlabMergeRequest(action: string, withOldrev: boolean) {
  return {
    object_kind: "merge_request",
    event_type: "merge_request",
    project: {
      path_with_namespace: "acme/infra/config",
      git_http_url: "https://gitlab.example.com/acme/infra/config.git",
    },
    object_attributes: {
      iid: 4,
      action,
      source_branch: "feature",
      target_branch: "main",
      last_commit: { id: sha2 },
      ...(withOldrev ? { oldrev: sha1 } : {}),
      source: { git_http_url: "https://gitlab.example.com/bob/config.git" },
      target: { git_http_url: "https://gitlab.example.com/acme/infra/config.git" },
    },
  };
}

export function bitbucketPush(branches: string[], after = sha1) {
  return {
    actor: { display_name: "Alice" },
    repository: {
      full_name: "acme/config",
      links: { html: { href: "https://bitbucket.org/acme/config" } },
    },
    push: {
      changes: [
        { new: { type: "tag", name: "v1", target: { hash: sha2 } }, old: null },
        ...branches.map((name) => ({
          new: { type: "branch", name, target: { hash: after } },
          old: { type: "branch", name, target: { hash: sha2 } },
        })),
      ],
    },
  };
}

export function bitbucketPullRequest() {
  return {
    pullrequest: {
      id: 8,
      source: {
        branch: { name: "feature" },
        commit: { hash: "222222222222" },
        repository: {
          full_name: "bob/config",
          links: { html: { href: "https://bitbucket.org/bob/config" } },
        },
      },
      destination: { branch: { name: "main" }, commit: { hash: "111111111111" } },
    },
    repository: { full_name: "acme/config", links: { html: { href: "https://bitbucket.org/acme/config" } } },
  };
}
