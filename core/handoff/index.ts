// Handoffs: old copies of workloads kept while their replacements come up and proxies stop
// routing to them (overlay.ts), and the facts they wait for, read from agents' reports (facts.ts).
// Pure.
export { factsFrom } from "./facts.js";
export { pendingNote, servedNotes } from "./notes.js";
export { applyHandoffs } from "./overlay.js";
export type * from "./types.js";
