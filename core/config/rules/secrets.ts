// Rules over encrypted secrets (secrets/<app>.yaml) and the env entries that use them. Nothing
// here decrypts: a ciphertext is checked by reading its armor and header (core/secrets), which
// is what catches a cut-off paste, a passphrase-encrypted file or a header that does not match
// the recipients berth recorded. Whether the nodes an app is placed on can decrypt its secrets
// needs the placement and is checked after it (core/secrets/readable.ts).

import type { Secrets } from "../../../schema/index.js";
import { inspectCiphertext, recipientsProblem } from "../../secrets/ciphertext.js";
import { secretsByApp, secretUses } from "../../secrets/refs.js";
import { didYouMean } from "../suggest.js";
import type { RepoRule } from "./types.js";

type EncryptedValue = Secrets["secrets"][string];

export const duplicateSecrets: RepoRule = {
  name: "duplicate-secrets",
  scope: "repo",
  reads: ["secrets"],
  check({ config }, report) {
    const index = secretsByApp(config);
    for (const e of config.secrets) {
      const first = index.get(e.spec.app);
      if (!first || first === e) continue;
      const where = first.origin.file === e.origin.file ? "earlier in this file" : `in ${first.origin.file}`;
      report({
        origin: e.origin,
        path: ["app"],
        message: `the secrets of app "${e.spec.app}" are defined twice (first ${where}): keep one Secrets document per app (berth secret writes secrets/${e.spec.app}.yaml); move these there or remove them`,
      });
    }
  },
};

export const secretsAppMissing: RepoRule = {
  name: "secrets-app-missing",
  scope: "repo",
  reads: ["secrets", "appNames"],
  check({ config, appNames }, report) {
    for (const e of config.secrets) {
      const app = e.spec.app;
      if (appNames.has(app)) continue;
      report({
        origin: e.origin,
        path: ["app"],
        message: `secrets for app "${app}", which does not exist${didYouMean(app, appNames)}: fix the app name, or remove them with \`berth secret rm ${app} --all\``,
      });
    }
  },
};

// Header checks are memoised per encrypted value object: the loader shares unchanged documents
// between loads, so a commit re-reads only the ciphertexts it changed.
const malformed = new WeakMap<EncryptedValue, string | null>();

export const secretMalformed: RepoRule = {
  name: "secret-malformed",
  scope: "repo",
  reads: ["secrets"],
  check({ config }, report) {
    for (const e of config.secrets) {
      for (const [name, value] of Object.entries(e.spec.secrets)) {
        let problem = malformed.get(value);
        if (problem === undefined) {
          problem = recipientsProblem(inspectCiphertext(value.ciphertext), value.recipients) ?? null;
          malformed.set(value, problem);
        }
        if (problem === null) continue;
        report({
          origin: e.origin,
          path: ["secrets", name, "ciphertext"],
          message: `secret ${name} of app ${e.spec.app} cannot be decrypted: ${problem}; set it again with \`berth secret set ${e.spec.app} ${name}\` (value on stdin or --from-file)`,
        });
      }
    }
  },
};

export const secretMissing: RepoRule = {
  name: "secret-missing",
  scope: "repo",
  reads: ["appSecrets", "secrets"],
  check({ config }, report) {
    const index = secretsByApp(config);
    for (const a of config.apps) {
      const uses = secretUses(a.spec);
      if (uses.length === 0) continue;
      const own = index.get(a.spec.name);
      for (const u of uses) {
        if (own && Object.hasOwn(own.spec.secrets, u.secret)) continue;
        const where = own
          ? `no secret ${u.secret} in ${own.origin.file}${didYouMean(u.secret, Object.keys(own.spec.secrets))}`
          : `app ${a.spec.name} has no secrets yet`;
        report({
          origin: a.origin,
          path: ["env", u.env, "secret"],
          message: `env ${u.env} takes secret ${u.secret}, which is not set (${where}): set it with \`berth secret set ${a.spec.name} ${u.secret} < value-file\``,
        });
      }
    }
  },
};

export const secretUnused: RepoRule = {
  name: "secret-unused",
  scope: "repo",
  reads: ["appSecrets", "secrets"],
  check({ config, appsByName }, report) {
    for (const e of config.secrets) {
      const app = appsByName.get(e.spec.app);
      if (!app) continue; // secrets-app-missing says it
      const used = new Set(secretUses(app).map((u) => u.secret));
      for (const name of Object.keys(e.spec.secrets)) {
        if (used.has(name)) continue;
        report({
          origin: e.origin,
          path: ["secrets", name],
          severity: "warning",
          message: `secret ${name} of app ${e.spec.app} is not used: add "${name}: { secret: ${name} }" to the app's env, or remove it with \`berth secret rm ${e.spec.app} ${name}\``,
        });
      }
    }
  },
};

export const secretNoOperator: RepoRule = {
  name: "secret-no-operator",
  scope: "repo",
  reads: ["secrets", "settings"],
  check({ config }, report) {
    if (config.secrets.length === 0) return;
    const operators = new Set((config.settings.operators ?? []).map((o) => o.recipient));
    for (const e of config.secrets) {
      for (const [name, value] of Object.entries(e.spec.secrets)) {
        if (value.recipients.some((r) => operators.has(r))) continue;
        const why =
          operators.size === 0
            ? "berth.yaml lists no operators"
            : "none of the operators in berth.yaml is among its recipients";
        report({
          origin: e.origin,
          path: ["secrets", name, "recipients"],
          severity: "warning",
          message: `no operator can read or rekey secret ${name} of app ${e.spec.app} (${why}): add yourself to operators in berth.yaml, then set it again with \`berth secret set ${e.spec.app} ${name}\``,
        });
      }
    }
  },
};
