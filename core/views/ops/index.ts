// The operations page's view-models (reconciler/ui renders them as HTML). Pure: state in, rows out.
export * from "./app.js";
export * from "./history.js";
export * from "./instances.js";
export * from "./node.js";
export * from "./overview.js";
export * from "./types.js";
