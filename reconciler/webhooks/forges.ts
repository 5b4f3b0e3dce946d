// The forges berth accepts webhooks from and the header names each one uses. Data only.

export const forges = ["github", "gitlab", "gitea", "bitbucket"] as const;
export type Forge = (typeof forges)[number];

export function isForge(value: string): value is Forge {
  return (forges as readonly string[]).includes(value);
}

/** Headers carrying the per-delivery id, in order of preference (retries of one delivery reuse it). */
export const deliveryHeaders: Record<Forge, readonly string[]> = {
  github: ["X-GitHub-Delivery"],
  // Forgejo (and so Codeberg) sends its own names next to Gitea's; some versions send only one.
  gitea: ["X-Gitea-Delivery", "X-Forgejo-Delivery", "X-Gogs-Delivery", "X-GitHub-Delivery"],
  // Idempotency-Key is what GitLab 17+ documents for retries; the event UUID is older and per delivery.
  gitlab: ["Idempotency-Key", "X-Gitlab-Event-UUID"],
  bitbucket: ["X-Request-UUID"],
};

/** Headers naming the event type. */
export const eventHeaders: Record<Forge, readonly string[]> = {
  github: ["X-GitHub-Event"],
  gitea: ["X-Gitea-Event", "X-Forgejo-Event", "X-Gogs-Event", "X-GitHub-Event"],
  gitlab: ["X-Gitlab-Event"],
  bitbucket: ["X-Event-Key"],
};
