// Turns ajv's schema errors into findings a person can act on: what is wrong, where (the key
// for unknown fields), and how to fix it, e.g. `unknown field "imagee" in App; did you mean
// "image"?` or `replicas must be >= 0`. Pure.
import type { ConfigKind, SchemaError } from "../../schema/index.js";
import type { Finding, Origin } from "./model.js";
import { knownFields, type SchemaAt, schemaAt } from "./schema-walk.js";
import { didYouMean } from "./suggest.js";

type Path = (string | number)[];

/** Findings for the schema errors of one document (`doc` is the value that was validated). */
export function schemaFindings(
  kind: ConfigKind,
  doc: unknown,
  errors: SchemaError[],
  origin: Origin,
): Finding[] {
  const out: Finding[] = [];
  const seen = new Set<string>();
  const push = (path: Path, message: string, at: "key" | "value" = "value") => {
    const id = `${path.join("\u0000")}\u0001${message}`;
    if (seen.has(id)) return;
    seen.add(id);
    out.push({ origin, path, rule: "schema", message, at });
  };
  for (const e of errors) {
    // The pattern error inside propertyNames repeats the propertyNames error, which names the key.
    if ((e as { propertyName?: string }).propertyName !== undefined) continue;
    // The branches of App's oneOf (image | command) are explained by the oneOf error itself.
    if (e.schemaPath.startsWith("#/oneOf/") && e.instancePath === "") continue;
    const path = toPath(e.instancePath, doc);
    const label = labelOf(kind, path);
    const value = valueAt(doc, path);
    const p = e.params as Record<string, unknown>;
    // An App env value is a string or {secret: NAME}: ajv reports both branches and the anyOf.
    // A mapping is meant as a secret reference (its own errors say what is wrong with it);
    // anything else is said once, as the string it most likely should be.
    if (kind === "App" && path.length === 2 && path[0] === "env") {
      const mapping = typeof value === "object" && value !== null && !Array.isArray(value);
      if (e.keyword === "anyOf") continue;
      if (e.keyword === "type" && (mapping ? p.type === "string" : p.type !== "string")) continue;
    }
    switch (e.keyword) {
      case "additionalProperties": {
        const field = String(p.additionalProperty);
        const known = knownFields(schemaAt(kind, path));
        const hint = didYouMean(field, known) || (known.length ? ` (fields: ${known.join(", ")})` : "");
        push([...path, field], `unknown field "${field}" in ${label}${hint}`, "key");
        break;
      }
      case "propertyNames": {
        const name = String(p.propertyName);
        push([...path, name], invalidKeyMessage(schemaAt(kind, path), name, label), "key");
        break;
      }
      case "required":
        push(path, `${label} is missing the required field "${String(p.missingProperty)}"`);
        break;
      case "oneOf":
        if (kind === "App" && path.length === 0) {
          const both = Array.isArray(p.passingSchemas);
          push(
            both ? ["command"] : [],
            both
              ? "an App needs exactly one of image or command, and this one has both: keep image (containers) or command (a process)"
              : "an App needs exactly one of image or command (image runs on podman/docker nodes, command on process nodes)",
            both ? "key" : "value",
          );
        } else {
          push(path, `${label} ${e.message}`);
        }
        break;
      case "type": {
        // YAML reads true, 8080 and 1.5 as a boolean and numbers: where text is wanted, quotes fix it.
        // An env value (or a secret-looking field) is never repeated: the message goes to logs,
        // events and forge commit statuses; its kind is enough to fix it.
        const hide = isPrivate(kind, path);
        const scalar = typeof value === "number" || typeof value === "boolean";
        const quote =
          p.type === "string" && scalar
            ? hide
              ? ": write the value in quotes"
              : `: write it in quotes, "${String(value)}"`
            : "";
        const was =
          hide && scalar ? (typeof value === "number" ? "a number" : "true or false") : describe(value);
        push(path, `${label} must be ${typeName(String(p.type))}, not ${was}${quote}`);
        break;
      }
      case "enum": {
        const allowed = (p.allowedValues as unknown[]).map(String);
        push(
          path,
          `${label} ${quoted(value)} is not one of ${allowed.join(", ")}${typeof value === "string" ? didYouMean(value, allowed) : ""}`,
        );
        break;
      }
      case "const":
        push(path, `${label} must be ${JSON.stringify(p.allowedValue)}`);
        break;
      case "minimum":
      case "maximum":
      case "exclusiveMinimum":
      case "exclusiveMaximum":
        push(path, `${label} must be ${String(p.comparison)} ${String(p.limit)}`);
        break;
      case "minItems":
      case "maxItems":
        push(path, itemsMessage(label, e.keyword, Number(p.limit), schemaAt(kind, path)));
        break;
      case "uniqueItems": {
        const later = Math.max(Number(p.i), Number(p.j));
        push(
          [...path, later],
          `${label} lists ${quoted(valueAt(doc, [...path, later]))} twice; list it once`,
        );
        break;
      }
      case "minLength":
        push(
          path,
          Number(p.limit) <= 1
            ? `${label} must not be empty`
            : `${label} must be at least ${String(p.limit)} characters`,
        );
        break;
      case "maxLength":
        push(path, `${label} is too long: at most ${String(p.limit)} characters`);
        break;
      case "pattern":
        push(
          path,
          isPrivate(kind, path)
            ? `${label} does not have the expected form`
            : patternMessage(schemaAt(kind, path), label, value),
        );
        break;
      default:
        push(path, `${label} ${e.message ?? "is not valid"}`);
    }
  }
  return out;
}

// Names of fields whose values are secrets or may be: never quoted in a message.
const secretName = /secret|token|passw|pwd|credential|private|api[-_]?key|auth/i;

/** Whether the value at `path` must not appear in a message: any env value, or a secret-looking key. */
export function isPrivate(kind: ConfigKind, path: Path): boolean {
  const key = path.at(-1);
  // A digest (tokenSha256) is made to be shown; the token itself never is in the config.
  if (typeof key === "string" && secretName.test(key) && !/sha256$/i.test(key)) return true;
  // Env and AppEnv (common.schema.json): every env map of every kind.
  const def = path.length > 0 ? schemaAt(kind, path.slice(0, -1))?.def : undefined;
  return def !== undefined && /Env$/.test(def);
}

/** "/placement/nodes/0" → ["placement", "nodes", 0] (array indices become numbers). */
function toPath(pointer: string, doc: unknown): Path {
  if (pointer === "") return [];
  const path: Path = [];
  let cur: unknown = doc;
  for (const raw of pointer.slice(1).split("/")) {
    const seg = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (Array.isArray(cur)) {
      const i = Number(seg);
      path.push(i);
      cur = cur[i];
    } else {
      path.push(seg);
      cur = (cur as Record<string, unknown> | undefined)?.[seg];
    }
  }
  return path;
}

function valueAt(doc: unknown, path: Path): unknown {
  let cur = doc;
  for (const seg of path) cur = (cur as Record<string | number, unknown> | undefined)?.[seg];
  return cur;
}

/** How a place is named in messages: the kind for the document itself, else `placement.nodes[0]`. */
function labelOf(kind: ConfigKind, path: Path): string {
  if (path.length === 0) return kind;
  let s = "";
  for (const seg of path) s += typeof seg === "number" ? `[${seg}]` : s === "" ? seg : `.${seg}`;
  return s;
}

function typeName(t: string): string {
  const names: Record<string, string> = {
    string: "a string",
    integer: "a whole number",
    number: "a number",
    boolean: "true or false",
    array: "a list",
    object: "a mapping (key: value)",
    null: "empty",
  };
  return t
    .split(",")
    .map((x) => names[x] ?? x)
    .join(" or ");
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return "empty (write a value after the colon)";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") return `the string ${JSON.stringify(value)}`;
  if (typeof value === "number") {
    if (Number.isNaN(value)) return ".nan (not a number)";
    if (!Number.isFinite(value)) return `${value > 0 ? "" : "-"}.inf: numbers must be finite`;
    return `the number ${value}`;
  }
  return String(value);
}

function itemsMessage(label: string, keyword: string, limit: number, at: SchemaAt | undefined): string {
  const s = at?.schema;
  if (s && s.minItems === 2 && s.maxItems === 2) return `${label} must have exactly 2 items: [low, high]`;
  if (keyword === "minItems")
    return limit <= 1 ? `${label} must not be empty` : `${label} needs at least ${limit} items`;
  return `${label} has too many items: at most ${limit}`;
}

// What each shared string format looks like, said the way a person fixes it.
const FORMATS: Record<string, string> = {
  Name: "use lowercase letters, digits and '-' (a DNS label)",
  Hostname:
    "use lowercase letters, digits, '-' and '.', like www.example.com (a leading '*.' makes a wildcard)",
  Memory: "use a number with an optional unit K, M, G, T, Ki, Mi, Gi or Ti, like 256Mi (at most about 10 PB)",
  Sha256: 'use "sha256:" and 64 lowercase hex digits',
};

/** A value quoted in a message: JSON (control characters escaped), cut after 60 characters. */
function quoted(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 62 ? `${text.slice(0, 60)}…"` : text;
}

function patternMessage(at: SchemaAt | undefined, label: string, value: unknown): string {
  const shown = quoted(value);
  const def = at?.def;
  if (def === "Name") return `${label} ${shown} is not a valid name: ${FORMATS.Name}`;
  if (def === "Hostname") return `${label} ${shown} is not a valid host name: ${FORMATS.Hostname}`;
  if (def === "Memory") return `${label} ${shown} is not an amount of memory: ${FORMATS.Memory}`;
  if (def === "Sha256") return `${label} ${shown} is not a digest: ${FORMATS.Sha256}`;
  const pattern = String(at?.schema.pattern ?? "");
  if (pattern === "^/") return `${label} ${shown} must start with "/"`;
  if (pattern === "^https?://") return `${label} ${shown} must be a URL starting with http:// or https://`;
  if (pattern === "^[0-9a-f]{64}$") {
    return `${label} must be 64 lowercase hex digits (the SHA-256 of the agent's token; \`berth node add\` writes it)`;
  }
  const description = typeof at?.schema.description === "string" ? `: ${at.schema.description}` : "";
  return `${label} ${shown} does not have the expected form${description}`;
}

function invalidKeyMessage(at: SchemaAt | undefined, name: string, label: string): string {
  if (at?.def === "Env" || at?.def === "AppEnv") {
    return `${label} variable name "${name}" is not valid: use letters, digits and '_', not starting with a digit`;
  }
  if (at?.def === "Labels") {
    return `${label} key "${name}" is not valid: use letters, digits, '-', '_', '.' and '/', starting and ending with a letter or digit (at most 63 characters)`;
  }
  return `${label} key "${name}" is not valid`;
}
