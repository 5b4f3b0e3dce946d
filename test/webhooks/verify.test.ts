// Signature checks per forge over raw bytes, against signatures computed here with node:crypto.
import { describe, expect, it } from "vitest";
import type { Forge } from "../../reconciler/webhooks/forges.js";
import { verifyWebhook } from "../../reconciler/webhooks/verify.js";
import { hmacHex } from "./payloads.js";

const secret = "s3cret-for-tests";
const body = Buffer.from('{"ref":"refs/heads/main","after":"abc","note":"caf\u00e9"}');

function signed(forge: Forge, key = secret, bytes: Buffer = body): Record<string, string> {
  const hex = hmacHex(key, bytes);
  switch (forge) {
    case "github":
      return { "x-hub-signature-256": `sha256=${hex}` };
    case "gitea":
      return { "x-gitea-signature": hex };
    case "gitlab":
      return { "x-gitlab-token": key };
    case "bitbucket":
      return { "x-hub-signature": `sha256=${hex}` };
  }
}

describe("verifyWebhook", () => {
  const forges: Forge[] = ["github", "gitea", "gitlab", "bitbucket"];

  it.each(forges)("%s: accepts the right signature", async (forge) => {
    expect(await verifyWebhook(forge, signed(forge), body, secret)).toEqual({ ok: true });
  });

  it.each(forges)("%s: refuses a signature made with another secret", async (forge) => {
    const v = await verifyWebhook(forge, signed(forge, "other-secret"), body, secret);
    expect(v.ok).toBe(false);
  });

  it.each(forges)("%s: refuses a body changed after signing", async (forge) => {
    if (forge === "gitlab") return; // GitLab sends the secret itself, not a signature of the body
    const tampered = Buffer.from(body.toString().replace("main", "mainx"));
    expect((await verifyWebhook(forge, signed(forge), tampered, secret)).ok).toBe(false);
  });

  it.each(forges)("%s: names the missing header", async (forge) => {
    const v = await verifyWebhook(forge, {}, body, secret);
    expect(v).toMatchObject({ ok: false, reason: expect.stringMatching(/^missing X-/) });
  });

  it("GitHub: refuses a signature without the sha256= prefix and a truncated one", async () => {
    const hex = hmacHex(secret, body);
    expect((await verifyWebhook("github", { "x-hub-signature-256": hex }, body, secret)).ok).toBe(false);
    expect(
      (await verifyWebhook("github", { "x-hub-signature-256": `sha256=${hex.slice(0, 40)}` }, body, secret))
        .ok,
    ).toBe(false);
  });

  it("GitHub: verifies bodies that are not UTF-8 over their exact bytes", async () => {
    const latin1 = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xe9, 0x22, 0x7d]);
    expect(await verifyWebhook("github", signed("github", secret, latin1), latin1, secret)).toEqual({
      ok: true,
    });
  });

  it("Gitea: accepts Forgejo's header and the GitHub-compatible one", async () => {
    const hex = hmacHex(secret, body);
    expect(await verifyWebhook("gitea", { "x-forgejo-signature": hex }, body, secret)).toEqual({ ok: true });
    expect(await verifyWebhook("gitea", { "x-hub-signature-256": `sha256=${hex}` }, body, secret)).toEqual({
      ok: true,
    });
    expect((await verifyWebhook("gitea", { "x-gitea-signature": "zz" }, body, secret)).ok).toBe(false);
  });

  it("Bitbucket: refuses a sha1= signature", async () => {
    const v = await verifyWebhook(
      "bitbucket",
      { "x-hub-signature": `sha1=${hmacHex(secret, body)}` },
      body,
      secret,
    );
    expect(v.ok).toBe(false);
  });

  it("never echoes the signature or the secret in its reason", async () => {
    const headers = signed("gitlab", "guess-123");
    const v = await verifyWebhook("gitlab", headers, body, secret);
    expect(v.ok).toBe(false);
    if (!v.ok) {
      expect(v.reason).not.toContain("guess-123");
      expect(v.reason).not.toContain(secret);
    }
  });
});
