// Placement: which node runs each replica of each app, and on which host ports. Pure.

export { buildNodeTable, type NodeTable, type PlacementNode } from "./nodes.js";
export { type AppPlacement, type PlacementResult, Placer, placeAll } from "./place.js";
export { allocatePorts } from "./ports.js";
export { type AppRequest, appRequest } from "./request.js";
export { cpuMillis, formatCpu, formatMemory, parseMemory } from "./resources.js";
