// Desired state: the document each node must run, built from a placement. Pure.
export { DesiredBuilder, type Source } from "./build.js";
export { sameContent, workloadIdsOf } from "./content.js";
export { compareDomains, upstreamOf } from "./routes.js";
export { workloadOf } from "./workload.js";
