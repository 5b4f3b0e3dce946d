// Small helpers over parsed YAML values (plain maps, lists and scalars). Pure.

export function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
