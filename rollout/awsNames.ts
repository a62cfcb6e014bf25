/**
 * Physical AWS names built from our own identifiers (stack, service, phase). One place knows
 * what AWS accepts in them, so a target group name and a snapshot identifier are cleaned the
 * same way and the length limits are written once.
 */

/**
 * AWS limit on target group names (and load balancer names). ELBv2 CreateTargetGroupInput.Name:
 * "can have a maximum of 32 characters, must contain only alphanumeric characters or hyphens,
 * and must not begin or end with a hyphen" (CreateLoadBalancerInput.Name: the same).
 */
export const TARGET_GROUP_NAME_MAX = 32;

/**
 * AWS limit on RDS DB snapshot identifiers. RDS CreateDBSnapshotMessage.DBSnapshotIdentifier:
 * "Must contain from 1 to 255 letters, numbers, or hyphens ... Can't end with a hyphen or
 * contain two consecutive hyphens".
 */
export const RDS_SNAPSHOT_IDENTIFIER_MAX = 255;

/**
 * `parts` joined with hyphens, as AWS names allow them: lowercase letters, digits and single
 * hyphens, none at either end, cut to `maxLength`.
 */
export function awsName(parts: readonly string[], maxLength: number): string {
  return parts
    .join("-")
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-+/, "")
    .slice(0, maxLength)
    .replace(/-+$/, "");
}
