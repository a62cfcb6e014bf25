import { dataPolicies } from "./data";
import { gatePolicies } from "./gates";
import { networkPolicies } from "./network";
import { releasePolicies } from "./release";
import { rolloutPolicies } from "./rollout";
import { runtimePolicies } from "./runtime";
import { scannerPolicies } from "./scanner";
import type { Policy } from "./util";

/** The pack's name: policies/index.ts builds the PolicyPack with it, the offline twin reports with it. */
export const PACK_NAME = "staged-rollout";

/** Every policy of the pack, by domain. The pack (policies/index.ts), the offline twin and the tests share this list. */
export const allPolicies: Policy[] = [
  ...rolloutPolicies,
  ...releasePolicies,
  ...gatePolicies,
  ...dataPolicies,
  ...networkPolicies,
  ...runtimePolicies,
  ...scannerPolicies,
];
