// The JSON Schemas of berth and compiled validators for them. Pure: no I/O (the JSON files are
// imported as modules). Types for every contract are generated from these files into types.ts.
import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import app from "./app.schema.json" with { type: "json" };
import common from "./common.schema.json" with { type: "json" };
import desired from "./desired.schema.json" with { type: "json" };
import domain from "./domain.schema.json" with { type: "json" };
import node from "./node.schema.json" with { type: "json" };
import plan from "./plan.schema.json" with { type: "json" };
import settings from "./settings.schema.json" with { type: "json" };
import status from "./status.schema.json" with { type: "json" };
import type { App, DesiredState, Domain, Node, NodeStatus, Plan, Settings } from "./types.js";

export type * from "./types.js";

/** Every schema, keyed by the file name it is published under (`berth schema` prints these). */
export const schemas = {
  "common.schema.json": common,
  "app.schema.json": app,
  "domain.schema.json": domain,
  "node.schema.json": node,
  "settings.schema.json": settings,
  "desired.schema.json": desired,
  "status.schema.json": status,
  "plan.schema.json": plan,
} as const;

/** The config kinds a document in the repo may have, and the schema of each. */
export const configKinds = { App: app, Domain: domain, Node: node, Settings: settings } as const;
export type ConfigKind = keyof typeof configKinds;
export interface ConfigDocumentOf {
  App: App;
  Domain: Domain;
  Node: Node;
  Settings: Settings;
}

export type SchemaError = ErrorObject;
export interface Validator<T> {
  (value: unknown): value is T;
  errors?: ErrorObject[] | null;
}

function makeAjv(useDefaults: boolean): Ajv2020 {
  // allErrors: validation reports every problem, not the first. useDefaults fills the defaults
  // written in the schemas (replicas 1, roles [worker], tls auto…) into the loaded documents.
  const ajv = new Ajv2020({ allErrors: true, useDefaults, strict: false, allowUnionTypes: true });
  addFormats.default(ajv);
  for (const s of Object.values(schemas)) ajv.addSchema(s);
  return ajv;
}

let withDefaults: Ajv2020 | undefined;
let plain: Ajv2020 | undefined;
const cache = new Map<string, ValidateFunction>();

function get<T>(id: string, defaults: boolean): Validator<T> {
  const key = `${defaults}:${id}`;
  let fn = cache.get(key);
  if (!fn) {
    if (defaults) withDefaults ??= makeAjv(true);
    else plain ??= makeAjv(false);
    const ajv = (defaults ? withDefaults : plain) as Ajv2020;
    fn = ajv.getSchema(id);
    if (!fn) throw new Error(`schema ${id} is not registered (this is a bug)`);
    cache.set(key, fn);
  }
  return fn as Validator<T>;
}

const base = "https://berth.sh/schema/";

/** Validates a config document of `kind` and fills in its defaults (mutates the value). */
export function configValidator<K extends ConfigKind>(kind: K): Validator<ConfigDocumentOf[K]> {
  return get<ConfigDocumentOf[K]>(`${base}${kind.toLowerCase()}.schema.json`, true);
}
/** Validates a desired-state document as the agent receives it (no defaults filled). */
export const validateDesired = (): Validator<DesiredState> =>
  get<DesiredState>(`${base}desired.schema.json`, false);
/** Validates a node status report as the reconciler receives it. */
export const validateStatus = (): Validator<NodeStatus> =>
  get<NodeStatus>(`${base}status.schema.json`, false);
/** Validates a plan object (tests check every rendered plan against it). */
export const validatePlan = (): Validator<Plan> => get<Plan>(`${base}plan.schema.json`, false);

/** Defaults of a health check, read from the schema so they are written once. */
export function healthDefaults(): Required<Omit<import("./types.js").Health, "path">> {
  const props = common.$defs.Health.properties;
  return {
    intervalSeconds: props.intervalSeconds.default,
    timeoutSeconds: props.timeoutSeconds.default,
    startPeriodSeconds: props.startPeriodSeconds.default,
    healthyThreshold: props.healthyThreshold.default,
    unhealthyThreshold: props.unhealthyThreshold.default,
  };
}
