// The JSON Schemas of berth and their validators. Pure: no I/O (the JSON files are imported as
// modules). Types (types.ts) and validators (validators.generated.ts) are generated from them.
import type { ErrorObject } from "ajv/dist/2020.js";
import app from "./app.schema.json" with { type: "json" };
import common from "./common.schema.json" with { type: "json" };
import desired from "./desired.schema.json" with { type: "json" };
import domain from "./domain.schema.json" with { type: "json" };
import node from "./node.schema.json" with { type: "json" };
import plan from "./plan.schema.json" with { type: "json" };
import requests from "./requests.schema.json" with { type: "json" };
import secrets from "./secrets.schema.json" with { type: "json" };
import settings from "./settings.schema.json" with { type: "json" };
import status from "./status.schema.json" with { type: "json" };
import type {
  AgentRequests,
  App,
  DesiredState,
  Domain,
  LogBatch,
  Node,
  NodeStatus,
  Plan,
  RequestReport,
  Secrets,
  Settings,
} from "./types.js";
import * as generated from "./validators.generated.js";

export type * from "./types.js";

/** Every schema, keyed by the file name it is published under (`berth schema` prints these). */
export const schemas = {
  "common.schema.json": common,
  "app.schema.json": app,
  "domain.schema.json": domain,
  "node.schema.json": node,
  "settings.schema.json": settings,
  "secrets.schema.json": secrets,
  "desired.schema.json": desired,
  "status.schema.json": status,
  "plan.schema.json": plan,
  "requests.schema.json": requests,
} as const;

/** The config kinds a document in the repo may have, and the schema of each. */
export const configKinds = {
  App: app,
  Domain: domain,
  Node: node,
  Settings: settings,
  Secrets: secrets,
} as const;
export type ConfigKind = keyof typeof configKinds;
export interface ConfigDocumentOf {
  App: App;
  Domain: Domain;
  Node: Node;
  Settings: Settings;
  Secrets: Secrets;
}

export type SchemaError = ErrorObject;
export interface Validator<T> {
  (value: unknown): value is T;
  errors?: ErrorObject[] | null;
}

// Compiled ahead of time by scripts/gen-validators.mjs (ajv standalone code): allErrors, so
// validation reports every problem; config validators fill the defaults written in the schemas
// (replicas 1, roles [worker], tls auto…) into the loaded documents.
type Compiled = Validator<unknown>;
const gen = generated as unknown as {
  withDefaults: Record<"app" | "domain" | "node" | "settings" | "secrets", Compiled>;
  plain: Record<"desired" | "status" | "plan" | "agentRequests" | "logBatch" | "requestReport", Compiled>;
};
const configValidators = {
  App: gen.withDefaults.app,
  Domain: gen.withDefaults.domain,
  Node: gen.withDefaults.node,
  Settings: gen.withDefaults.settings,
  Secrets: gen.withDefaults.secrets,
};

/** Validates a config document of `kind` and fills in its defaults (mutates the value). */
export function configValidator<K extends ConfigKind>(kind: K): Validator<ConfigDocumentOf[K]> {
  return configValidators[kind] as Validator<ConfigDocumentOf[K]>;
}
/** Validates a desired-state document as the agent receives it (no defaults filled). */
export const validateDesired = (): Validator<DesiredState> => gen.plain.desired as Validator<DesiredState>;
/** Validates a node status report as the reconciler receives it. */
export const validateStatus = (): Validator<NodeStatus> => gen.plain.status as Validator<NodeStatus>;
/** Validates the requests an agent fetches from GET /v1/nodes/{node}/requests. */
export const validateAgentRequests = (): Validator<AgentRequests> =>
  gen.plain.agentRequests as Validator<AgentRequests>;
/** Validates a batch of log lines an agent uploads. */
export const validateLogBatch = (): Validator<LogBatch> => gen.plain.logBatch as Validator<LogBatch>;
/** Validates an agent's report on a request (restart progress). */
export const validateRequestReport = (): Validator<RequestReport> =>
  gen.plain.requestReport as Validator<RequestReport>;
/** Validates a plan object (tests check every rendered plan against it). */
export const validatePlan = (): Validator<Plan> => gen.plain.plan as Validator<Plan>;

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
