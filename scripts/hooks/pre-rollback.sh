#!/usr/bin/env bash
# Pre-rollback check: blue must have healthy targets before all traffic is sent to it.
# Env: BLUE_TARGET_GROUPS (space-separated "service:arn"),
#      AWS_REGION and/or AWS_DEFAULT_REGION (the stack's region; required).
# A blue group no load balancer uses yet (a stack whose first `up` already sets rollout:rollback, or
# a blue group replaced in this `up`) has no health to check: it passes, said so (lib.sh).
set -euo pipefail
HOOK=pre-rollback
# shellcheck source=scripts/hooks/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_region
for entry in $BLUE_TARGET_GROUPS; do
  service=${entry%%:*}; arn=${entry#*:}
  health=$(target_health "$arn")
  if not_in_use_yet "$service/blue" "$arn" "$health"; then continue; fi
  healthy=$(count_state healthy "$health")
  if [ "$healthy" -lt 1 ]; then
    say "$service: blue has no healthy target; rolling back to it would drop traffic - scale blue up first"
    exit 1
  fi
  say "$service: blue has $healthy healthy targets"
done
