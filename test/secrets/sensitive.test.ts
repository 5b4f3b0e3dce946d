// What the log-line sanitiser is given to redact for a workload: decrypted secrets (whatever their
// names), values of secret-looking env names, and passwords inside URLs. An app that prints its
// own secret shows [redacted] in crash excerpts and logs.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sanitiseLine } from "../../agent/core/log-line.js";
import { createSecretResolver } from "../../agent/secrets/resolver.js";
import { sensitiveValues } from "../../agent/secrets/sensitive.js";
import { encryptTo, keypair } from "./age-fixture.js";

describe("sensitiveValues", () => {
  it("feeds decrypted secrets, secret-looking env values and URL passwords to the sanitiser", async () => {
    const node = await keypair();
    const file = join(mkdtempSync(join(tmpdir(), "berth-sens-")), "id.key");
    writeFileSync(file, `${node.identity}\n`, { mode: 0o600 });
    const resolver = createSecretResolver({ identityFile: file });
    const w = {
      app: "api",
      env: { API_TOKEN: "tok-123456", DATABASE_URL: "postgres://app:url-pw-9@db/app", LOG_LEVEL: "info" },
      secrets: {
        SESSION: { secret: "SESSION", ciphertext: await encryptTo([node.recipient], "decrypted-canary") },
      },
    };
    const values = await sensitiveValues(w, resolver);
    expect(values).toEqual(["decrypted-canary", "tok-123456", "url-pw-9"]);
    expect(
      sanitiseLine(
        "boot: session=decrypted-canary token=tok-123456 db=postgres://app:url-pw-9@db/app level=info",
        { secrets: values },
      ),
    ).toBe("boot: session=[redacted] token=[redacted] db=postgres://app:[redacted]@db/app level=info");
  });

  it("a node that cannot decrypt has nothing of those secrets to redact, and does not fail", async () => {
    const other = await keypair();
    const w = {
      app: "api",
      env: {},
      secrets: { S: { secret: "S", ciphertext: await encryptTo([other.recipient], "x-value") } },
    };
    expect(await sensitiveValues(w, createSecretResolver({}))).toEqual([]);
  });
});
