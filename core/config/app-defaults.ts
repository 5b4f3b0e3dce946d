// Applies Settings `defaults` to an App document before it is validated: a field the app sets
// wins; env, resources and health merge key by key. Health defaults only go to apps with a port,
// since a health check runs against the port. Pure; mutates the (already copied) app.
import type { SettingsSpec } from "./model.js";
import { isMapping } from "./values.js";

export function applyAppDefaults(app: Record<string, unknown>, defaults: SettingsSpec["defaults"]): void {
  if (!defaults) return;
  if (app.replicas === undefined && defaults.replicas !== undefined) app.replicas = defaults.replicas;
  if (app.strategy === undefined && defaults.strategy !== undefined) app.strategy = defaults.strategy;
  mergeMap(app, "env", defaults.env);
  mergeMap(app, "resources", defaults.resources);
  if (app.port !== undefined) mergeMap(app, "health", defaults.health);
}

function mergeMap(app: Record<string, unknown>, field: string, defaults: object | undefined): void {
  if (!defaults) return;
  const own = app[field];
  if (own === undefined) app[field] = { ...defaults };
  // A wrong type is left alone for the schema to report.
  else if (isMapping(own)) app[field] = { ...defaults, ...own };
}
