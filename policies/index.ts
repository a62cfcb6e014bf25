/*
 * The CrossGuard pack: `pulumi preview --policy-pack policies` (CI) and `pulumi up --policy-pack policies`.
 *
 * How it resolves: Pulumi starts this directory as a Node.js policy pack (PulumiPolicy.yaml,
 * `runtime: nodejs`) and compiles its TypeScript with the ts-node it ships, from this directory
 * (policies/tsconfig.json extends the root one). The rules import the shared domain relatively
 * (`../rollout/...`), so phase caps, gate thresholds and sign-off roles are the program's own.
 * Every dependency (@pulumi/policy, @pulumi/pulumi, and zod / js-yaml used by rollout/) is
 * hoisted to the root node_modules because policies/ is an npm workspace of the root package:
 * the root `npm ci` is all the pack needs; there is no separate install in policies/.
 *
 * This file only builds the pack. Constructing a PolicyPack starts a gRPC server and reads
 * ./package.json for the version, so tests import `allPolicies` from ./rules/all instead,
 * and `npm run plan` runs the same policies through the offline twin (./offline.ts).
 */
import { PolicyPack } from "@pulumi/policy";
import { allPolicies } from "./rules/all";

new PolicyPack("staged-rollout", { policies: allPolicies });
