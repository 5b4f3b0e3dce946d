// Host ports for test workloads: each workload owns two consecutive ports (slots a and b). Chosen
// below the kernel's ephemeral range (test/helpers/ports.ts says why).
export { freePortPair } from "../../helpers/ports.js";
