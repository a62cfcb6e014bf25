/*
 * The CrossGuard pack: `pulumi preview --policy-pack policies` (CI) and `pulumi up --policy-pack policies`.
 *
 * How it loads. The nodejs language host starts this directory as a policy pack
 * (PulumiPolicy.yaml, `runtime: nodejs`; the version comes from ./package.json) with its working
 * directory set here, and resolves `@pulumi/pulumi/cmd/run-policy-pack` from it. That runner
 * registers ts-node with type checking, preferring the `ts-node` and `typescript` it can
 * require over the old copies vendored in @pulumi/pulumi: here the root devDependencies
 * (ts-node 10, TypeScript 5.9). Its compiler options are Pulumi's defaults overlaid with
 * ./tsconfig.json, which extends the root config. So the pack needs the root `npm ci` with dev
 * dependencies (`npm ci --omit=dev` leaves it with the vendored TypeScript 3.8, which cannot
 * compile it). policies/ is an npm workspace of the root package, so @pulumi/policy,
 * @pulumi/pulumi, ts-node, typescript and zod / js-yaml (for rollout/) are all hoisted to the
 * root node_modules: nothing is installed in policies/. test/policyPackLoad.test.ts loads the
 * rules through that runner.
 *
 * The rules import the shared domain relatively (`../rollout/...`), so phase caps, gate
 * thresholds and sign-off roles are the program's own, compiled from source. For the same
 * reason this directory is not what `pulumi policy publish` ships: it would pack policies/ only,
 * without ../rollout and ../playbooks (./package.json's prepack refuses). `npm run
 * policy:publish -- ORG` bundles the pack with everything it imports and reads into
 * dist/policy-pack and publishes that (scripts/bundle-policy-pack.ts).
 *
 * How the pack config reaches it. The engine hands each policy only its own entry of the JSON
 * given with `--policy-pack-config` (`policies/config/<stack>.json` by convention; the CLI's
 * Automation API passes that file when it exists, cli/backend.ts policyPackOptions, and `npm run
 * plan` reads it the same way, ./offline.ts policyConfigFile), over each policy's schema
 * defaults. The defaults relax nothing: with no config file, or with another stack's, every
 * tier-dependent check runs as in production, and a `rollout:tier: staging` claim is a
 * mandatory violation of rollout-state-recorded. A rehearsal stack gets the staging tier only
 * where its own file lists its name in `stagingTierStacks` of each relaxed policy
 * (./rules/util.ts STAGING_TIER_KEY, ./rules/rollout.ts TIER_RELAXED_POLICIES).
 *
 * This file only builds the pack. Constructing a PolicyPack starts a gRPC server and reads
 * ./package.json, so tests import `allPolicies` from ./rules/all instead, and `npm run plan`
 * runs the same policies through the offline twin (./offline.ts).
 */
import { PolicyPack } from "@pulumi/policy";
import { allPolicies, PACK_NAME } from "./rules/all";

new PolicyPack(PACK_NAME, { policies: allPolicies });
