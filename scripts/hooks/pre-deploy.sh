#!/usr/bin/env bash
# Pre-deploy hook (runs from `pulumi up` when phase, weights or rollback change; listener rules wait for it).
# Refuses the traffic change unless the phase's snapshot is available and neither colour is unhealthy.
# Env: SNAPSHOT_ID, TARGET_GROUPS (space-separated "service:colour:arn"), AWS_REGION (optional).
set -euo pipefail
say() { printf '[pre-deploy] %s\n' "$*" >&2; }

status=$(aws rds describe-db-snapshots --db-snapshot-identifier "$SNAPSHOT_ID" \
  --query 'DBSnapshots[0].Status' --output text)
if [ "$status" != "available" ]; then
  say "snapshot $SNAPSHOT_ID is '$status', expected 'available': traffic stays where it is until the restore point exists"
  exit 1
fi
say "snapshot $SNAPSHOT_ID available"

for entry in $TARGET_GROUPS; do
  service=${entry%%:*}; rest=${entry#*:}; colour=${rest%%:*}; arn=${rest#*:}
  states=$(aws elbv2 describe-target-health --target-group-arn "$arn" \
    --query 'TargetHealthDescriptions[].TargetHealth.State' --output text)
  if [ -z "$states" ]; then
    # First deploy of a colour: no targets registered yet is not a failure.
    say "$service/$colour: no targets registered yet"
    continue
  fi
  if ! grep -qw healthy <<<"$states"; then
    say "$service/$colour has no healthy target (states: $states): fix it before moving traffic"
    exit 1
  fi
  say "$service/$colour healthy"
done
