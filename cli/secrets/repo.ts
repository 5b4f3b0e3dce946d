// The config repo as the secret commands see it: the working tree loaded (documents that passed
// their schema; other problems are validate's to report), the Secrets document of an app and the
// file it lives in, and writing that file whole and atomically.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { AppSpec, Config, Entry, SecretsSpec } from "../../core/config/index.js";
import { renderSecretsFile, secretsPath } from "../../core/secrets/file.js";
import { recipientLabels } from "../../core/secrets/recipients.js";
import { secretsByApp } from "../../core/secrets/refs.js";
import { UserError } from "../errors.js";

export async function loadConfig(repo: string): Promise<Config> {
  const { loadWorktree, RepoError } = await import("../../reconciler/repo/load.js");
  try {
    return (await loadWorktree(repo)).config;
  } catch (err) {
    if (err instanceof RepoError) throw new UserError(err.message, err.hint);
    throw err;
  }
}

/** The app named `name`; a UserError suggesting the closest name when there is none. */
export async function appOf(config: Config, name: string): Promise<AppSpec> {
  const app = config.apps.find((e) => e.spec.name === name)?.spec;
  if (app) return app;
  const { didYouMean } = await import("../../core/config/suggest.js");
  throw new UserError(
    `app ${JSON.stringify(name)} does not exist${didYouMean(
      name,
      config.apps.map((e) => e.spec.name),
    )}`,
    "secrets belong to an app of the config repo (apps/<name>.yaml); berth validate lists problems that hide one",
  );
}

export interface SecretsFile {
  /** Repo-relative path of the file that holds (or will hold) the app's Secrets document. */
  file: string;
  spec: SecretsSpec;
  exists: boolean;
}

/**
 * The Secrets document of `app` and its file. Refuses when the file exists but did not load (a
 * YAML or schema problem: rewriting it would lose what it holds) or holds other documents too
 * (berth writes secrets files whole).
 */
export async function secretsFileOf(repo: string, config: Config, app: string): Promise<SecretsFile> {
  const entry: Entry<SecretsSpec> | undefined = secretsByApp(config).get(app);
  const file = entry?.origin.file ?? secretsPath(app);
  const path = join(repo, file);
  if (!entry) {
    if (existsSync(path))
      throw new UserError(
        `${file} exists but does not load as the secrets of app ${app}`,
        `run berth validate to see why, then fix or remove ${file}`,
      );
    return { file, spec: { kind: "Secrets", app, secrets: {} }, exists: false };
  }
  const { default: yaml } = await import("js-yaml");
  const docs = yaml.loadAll(readFileSync(path, "utf8")).filter((d) => d !== null && d !== undefined);
  if (docs.length !== 1)
    throw new UserError(
      `the secrets of app ${app} share ${file} with other documents; berth secret writes secrets files whole`,
      `move the Secrets document of ${app} to ${secretsPath(app)} (alone), then run the command again`,
    );
  return { file, spec: structuredClone(entry.spec), exists: true };
}

/** Writes the app's secrets file (temp file + rename), or removes it when it holds no secret. */
export function writeSecretsFile(repo: string, config: Config, f: SecretsFile): "written" | "removed" {
  const path = join(repo, f.file);
  if (Object.keys(f.spec.secrets).length === 0) {
    rmSync(path, { force: true });
    return "removed";
  }
  const labels = recipientLabels(config);
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(
    tmp,
    renderSecretsFile(f.spec, (r) => labels.get(r)),
    { mode: 0o644 },
  );
  renameSync(tmp, path);
  return "written";
}
