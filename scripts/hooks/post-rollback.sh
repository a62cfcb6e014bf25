#!/usr/bin/env bash
# Post-rollback verification through the ELB API: no listener rule forwards any weight to green.
# Env: LISTENER_ARN, GREEN_TARGET_GROUPS (space-separated ARNs),
#      AWS_REGION and/or AWS_DEFAULT_REGION (the stack's region; required).
# It reads the rules, not target health: a green group in no rule gets weight 0, which passes.
set -euo pipefail
HOOK=post-rollback
# shellcheck source=scripts/hooks/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_region
rules=$(aws elbv2 describe-rules --listener-arn "$LISTENER_ARN" --output json)
for arn in $GREEN_TARGET_GROUPS; do
  weight=$(jq --arg arn "$arn" '[.Rules[].Actions[]
      | (.ForwardConfig.TargetGroups // [{TargetGroupArn: .TargetGroupArn, Weight: 1}])[]
      | select(.TargetGroupArn == $arn) | (.Weight // 1)] | add // 0' <<<"$rules")
  if [ "$weight" != "0" ]; then
    say "green target group $arn still receives weight $weight"
    exit 1
  fi
done
say "every service is 100 % blue"
