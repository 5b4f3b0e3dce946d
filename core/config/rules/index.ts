// Every semantic rule of stage 2, in the order they run. One concern per rule; see docs/config.md.

import { alertReceivers } from "./alert-checks.js";
import { duplicateVolume, healthWithoutPort } from "./app-checks.js";
import { domainAppMissing, domainAppPort } from "./domain-app.js";
import { duplicateDomain } from "./duplicate-domain.js";
import { duplicateApp, duplicateNode } from "./duplicate-names.js";
import { loopbackAddress } from "./loopback-address.js";
import { placementUnknownLabel, placementUnknownNode } from "./placement-refs.js";
import { portRange } from "./port-range.js";
import { replicasFit } from "./replicas-fit.js";
import { domainNoReplicas, noProxy, settingsBranches } from "./repo-checks.js";
import { runtimeMismatch } from "./runtime.js";
import {
  duplicateSecrets,
  secretMalformed,
  secretMissing,
  secretNoOperator,
  secretsAppMissing,
  secretUnused,
} from "./secrets.js";
import type { Rule } from "./types.js";

export const rules: readonly Rule[] = [
  duplicateApp,
  duplicateNode,
  duplicateDomain,
  domainAppMissing,
  domainAppPort,
  placementUnknownNode,
  placementUnknownLabel,
  runtimeMismatch,
  replicasFit,
  healthWithoutPort,
  duplicateVolume,
  portRange,
  settingsBranches,
  alertReceivers,
  domainNoReplicas,
  noProxy,
  loopbackAddress,
  duplicateSecrets,
  secretsAppMissing,
  secretMalformed,
  secretMissing,
  secretUnused,
  secretNoOperator,
];

export { indexNodes, type NodeIndex } from "./node-index.js";
export type { Report, Rule, RuleInput } from "./types.js";
