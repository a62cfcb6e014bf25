/*
 * The CrossGuard pack: `pulumi preview --policy-pack policies` (CI) and `pulumi up --policy-pack policies`.
 *
 * How it resolves. Pulumi starts this directory as a Node.js policy pack (PulumiPolicy.yaml,
 * `runtime: nodejs`; the version comes from ./package.json). Its policy runner registers
 * ts-node (the copy vendored in @pulumi/pulumi, as the repository installs none) with type
 * checking, the TypeScript of the root node_modules and ./tsconfig.json, which extends the
 * root config. The rules import the shared domain relatively (`../rollout/...`), so phase
 * caps, gate thresholds and sign-off roles are the program's own, compiled from source.
 * Every package involved (@pulumi/policy, @pulumi/pulumi, typescript, and zod / js-yaml for
 * rollout/) is hoisted to the root node_modules because policies/ is an npm workspace of
 * the root package: the root `npm ci` is all the pack needs, with no install in policies/.
 *
 * This file only builds the pack. Constructing a PolicyPack starts a gRPC server and reads
 * ./package.json, so tests import `allPolicies` from ./rules/all instead, and `npm run plan`
 * runs the same policies through the offline twin (./offline.ts).
 */
import { PolicyPack } from "@pulumi/policy";
import { allPolicies } from "./rules/all";

new PolicyPack("staged-rollout", { policies: allPolicies });
