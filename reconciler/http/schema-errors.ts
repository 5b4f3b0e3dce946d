// Turns ajv errors into short sentences that say where (the JSON pointer in the body) and what is
// wrong, e.g. `/workloads/0/state: must be one of running, starting, stopped, failed`. Pure.
import type { SchemaError } from "../../schema/index.js";

export function formatSchemaError(e: SchemaError): string {
  const where = e.instancePath === "" ? "(root)" : e.instancePath;
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case "enum":
      return `${where}: must be one of ${(p.allowedValues as unknown[]).map(String).join(", ")}`;
    case "additionalProperties":
      return `${where}: unknown field "${String(p.additionalProperty)}"`;
    case "required":
      return `${where}: missing required field "${String(p.missingProperty)}"`;
    default:
      return `${where}: ${e.message ?? e.keyword}`;
  }
}

/** One line per problem; anyOf/oneOf wrappers are dropped when a more precise error says the same place. */
export function formatSchemaErrors(errors: SchemaError[]): string[] {
  const lines = errors.filter((e) => e.keyword !== "anyOf" && e.keyword !== "oneOf").map(formatSchemaError);
  const unique = [...new Set(lines.length > 0 ? lines : errors.map(formatSchemaError))];
  return unique.slice(0, 20);
}
