// Normalised events from each forge's payloads (GitHub's own examples included).
import { describe, expect, it } from "vitest";
import { parseWebhook } from "../../reconciler/webhooks/parse.js";
import {
  bitbucketPullRequest,
  bitbucketPush,
  giteaPullRequest,
  giteaPush,
  githubExample,
  gitlabMergeRequest,
  gitlabPush,
  sha1,
  sha2,
} from "./payloads.js";

const json = (v: unknown) => Buffer.from(JSON.stringify(v));

describe("GitHub", () => {
  const gh = (event: string, payload: unknown, extra: Record<string, string> = {}) =>
    parseWebhook("github", { "x-github-event": event, "x-github-delivery": "d-1", ...extra }, json(payload));

  it("reads a push to a branch", () => {
    const payload = githubExample("push", (p) => p.ref === "refs/heads/master");
    expect(gh("push", payload)).toEqual({
      kind: "push",
      forge: "github",
      deliveryId: "d-1",
      branch: "master",
      after: payload.after,
      updates: [{ branch: "master", after: payload.after }],
      repo: "Codertocat/Hello-World",
    });
  });

  it("ignores tag pushes and branch deletions", () => {
    const tag = githubExample("push", (p) => p.ref.startsWith("refs/tags/") && !p.deleted);
    expect(gh("push", tag)).toMatchObject({
      kind: "ignored",
      reason: "refs/tags/simple-tag is not a branch",
    });
    const deleted = { ...githubExample("push", (p) => p.ref === "refs/heads/master"), deleted: true };
    expect(gh("push", deleted)).toMatchObject({ kind: "ignored", reason: "branch master was deleted" });
  });

  it("reads ping and pull_request", () => {
    expect(gh("ping", githubExample("ping"))).toMatchObject({ kind: "ping", forge: "github" });
    const pr = githubExample("pull_request", (p) => p.action === "synchronize");
    expect(gh("pull_request", pr)).toEqual({
      kind: "pull_request",
      forge: "github",
      deliveryId: "d-1",
      action: "synchronize",
      forgeAction: "synchronize",
      number: 2,
      headSha: pr.pull_request.head.sha,
      headRef: "changes",
      baseRef: "master",
      cloneUrl: "https://github.com/Codertocat/Hello-World.git",
      headCloneUrl: "https://github.com/Codertocat/Hello-World.git",
      repo: "Codertocat/Hello-World",
    });
    const labeled = githubExample("pull_request", (p) => p.action === "labeled");
    expect(gh("pull_request", labeled)).toMatchObject({ action: "other", forgeAction: "labeled" });
  });

  it("reads a form-encoded delivery", () => {
    const payload = githubExample("push", (p) => p.ref === "refs/heads/master");
    const body = Buffer.from(new URLSearchParams({ payload: JSON.stringify(payload) }).toString());
    const event = parseWebhook(
      "github",
      { "x-github-event": "push", "content-type": "application/x-www-form-urlencoded" },
      body,
    );
    expect(event).toMatchObject({ kind: "push", branch: "master", deliveryId: null });
  });

  it("ignores other events and says which; rejects bad JSON", () => {
    expect(gh("star", githubExample("star"))).toMatchObject({
      kind: "ignored",
      reason: "event star is not used by berth",
    });
    expect(parseWebhook("github", { "x-github-event": "push" }, Buffer.from("{"))).toMatchObject({
      kind: "invalid",
      reason: expect.stringMatching(/^body is not JSON/),
    });
    expect(gh("push", { ref: "refs/heads/main" })).toMatchObject({ kind: "invalid" });
  });
});

describe("Gitea / Forgejo", () => {
  it("reads push and maps 'synchronized'", () => {
    expect(
      parseWebhook("gitea", { "x-gitea-event": "push", "x-gitea-delivery": "g-1" }, json(giteaPush("main"))),
    ).toEqual({
      kind: "push",
      forge: "gitea",
      deliveryId: "g-1",
      branch: "main",
      after: sha1,
      updates: [{ branch: "main", after: sha1 }],
      repo: "acme/config",
    });
    const pr = parseWebhook(
      "gitea",
      { "x-forgejo-event": "pull_request", "x-forgejo-delivery": "f-1" },
      json(giteaPullRequest("synchronized")),
    );
    expect(pr).toMatchObject({
      kind: "pull_request",
      deliveryId: "f-1",
      action: "synchronize",
      forgeAction: "synchronized",
      number: 12,
      headSha: sha2,
      headRef: "feature",
      baseRef: "main",
      cloneUrl: "https://codeberg.org/acme/config.git",
      headCloneUrl: "https://codeberg.org/bob/config.git",
    });
  });
});

describe("GitLab", () => {
  it("reads a push by object_kind and the delivery from Idempotency-Key or the event UUID", () => {
    const event = parseWebhook(
      "gitlab",
      { "x-gitlab-event": "Push Hook", "x-gitlab-event-uuid": "u-1" },
      json(gitlabPush("main")),
    );
    expect(event).toMatchObject({
      kind: "push",
      deliveryId: "u-1",
      branch: "main",
      after: sha1,
      repo: "acme/infra/config",
    });
    const retried = parseWebhook(
      "gitlab",
      { "idempotency-key": "k-1", "x-gitlab-event-uuid": "u-2" },
      json(gitlabPush("main")),
    );
    expect(retried.deliveryId).toBe("k-1");
  });

  it("treats a test hook as a ping and a branch deletion as ignored", () => {
    expect(parseWebhook("gitlab", { "x-gitlab-event": "Test Hook" }, json({}))).toMatchObject({
      kind: "ping",
    });
    expect(parseWebhook("gitlab", {}, json(gitlabPush("main", "0".repeat(40))))).toMatchObject({
      kind: "ignored",
    });
  });

  it("maps merge-request actions: an update is a new head only with oldrev", () => {
    const mr = (action: string, oldrev: boolean) =>
      parseWebhook(
        "gitlab",
        { "x-gitlab-event": "Merge Request Hook" },
        json(gitlabMergeRequest(action, oldrev)),
      );
    expect(mr("open", false)).toMatchObject({
      kind: "pull_request",
      action: "opened",
      number: 4,
      headSha: sha2,
      headRef: "feature",
      baseRef: "main",
      cloneUrl: "https://gitlab.example.com/acme/infra/config.git",
      headCloneUrl: "https://gitlab.example.com/bob/config.git",
      repo: "acme/infra/config",
    });
    expect(mr("update", true)).toMatchObject({ action: "synchronize", forgeAction: "update" });
    expect(mr("update", false)).toMatchObject({ action: "other" });
    expect(mr("reopen", false)).toMatchObject({ action: "reopened" });
    expect(mr("merge", false)).toMatchObject({ action: "closed" });
  });
});

describe("Bitbucket", () => {
  it("reads every branch a push moved, skipping tags", () => {
    const event = parseWebhook(
      "bitbucket",
      { "x-event-key": "repo:push", "x-request-uuid": "b-1" },
      json(bitbucketPush(["feature", "main"])),
    );
    expect(event).toMatchObject({
      kind: "push",
      deliveryId: "b-1",
      branch: "feature",
      updates: [
        { branch: "feature", after: sha1 },
        { branch: "main", after: sha1 },
      ],
      repo: "acme/config",
    });
  });

  it("reads ping and pull requests", () => {
    expect(parseWebhook("bitbucket", { "x-event-key": "diagnostics:ping" }, json({}))).toMatchObject({
      kind: "ping",
    });
    expect(
      parseWebhook("bitbucket", { "x-event-key": "pullrequest:created" }, json(bitbucketPullRequest())),
    ).toMatchObject({
      kind: "pull_request",
      action: "opened",
      number: 8,
      headSha: "222222222222",
      headRef: "feature",
      baseRef: "main",
      cloneUrl: "https://bitbucket.org/acme/config.git",
      headCloneUrl: "https://bitbucket.org/bob/config.git",
    });
    expect(parseWebhook("bitbucket", { "x-event-key": "repo:push" }, json(bitbucketPush([])))).toMatchObject({
      kind: "ignored",
    });
  });
});
