#!/usr/bin/env bash
# Pre-deploy hook (runs from `pulumi up` when phase, weights, cohort routes, rollback or latch change,
# or a value in this environment does, e.g. the snapshot id or a replaced target group; listener rules
# wait for it). Refuses the traffic change unless the colours traffic will reach are healthy.
# Env: MODE (deploy | rollback | latched), SNAPSHOT_ID, TARGET_GROUPS (space-separated "service:colour:arn"),
#      AWS_REGION and/or AWS_DEFAULT_REGION (the stack's region; required).
# MODE=deploy: the phase's snapshot must be available and both colours healthy (a colour with no
# targets yet is its first deploy). MODE=rollback/latched: traffic goes to 100 % blue, so only blue is
# checked and it must have a healthy target; the snapshot is reported, not required, because a
# rollback must never wait for a restore point of the release it is undoing.
# In every mode a target group no load balancer uses yet has no health to check (first deploy of the
# stack, or a group replaced in this `up`): it passes, said so, or the rules waiting for this hook
# could never be created (see not_in_use_yet in lib.sh).
set -euo pipefail
HOOK=pre-deploy
# shellcheck source=scripts/hooks/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_region
mode=${MODE:-deploy}

# A failed lookup (not found, no permission) leaves the CLI's own error on stderr above this hook's verdict.
status=$(aws rds describe-db-snapshots --db-snapshot-identifier "$SNAPSHOT_ID" \
  --query 'DBSnapshots[0].Status' --output text) || status="unreadable"
if [ "$status" != "available" ]; then
  if [ "$mode" = "deploy" ]; then
    say "snapshot $SNAPSHOT_ID is '$status', expected 'available': traffic stays where it is until the restore point exists"
    exit 1
  fi
  say "snapshot $SNAPSHOT_ID is '$status' ($mode: not required to send traffic to blue)"
else
  say "snapshot $SNAPSHOT_ID available"
fi

for entry in $TARGET_GROUPS; do
  service=${entry%%:*}; rest=${entry#*:}; colour=${rest%%:*}; arn=${rest#*:}
  health=$(target_health "$arn")
  if [ -z "$health" ]; then
    if [ "$mode" != "deploy" ]; then
      say "$service/$colour has no registered target: $mode would send all traffic to it - scale blue up first"
      exit 1
    fi
    # First deploy of a colour: no targets registered yet, and nothing routes to the group yet.
    # A group the ALB already routes to with no target at all is an outage, not a first deploy.
    if ! no_load_balancer "$arn"; then
      say "$service/$colour has no registered target although the load balancer routes to it: scale it up before moving traffic"
      exit 1
    fi
    say "$service/$colour: first deploy: no targets registered yet"
    continue
  fi
  if not_in_use_yet "$service/$colour" "$arn" "$health"; then continue; fi
  if [ "$(count_state healthy "$health")" -eq 0 ]; then
    say "$service/$colour has no healthy target (states: ${health//$'\n'/ }): fix it before moving traffic"
    exit 1
  fi
  say "$service/$colour healthy"
done
