#!/usr/bin/env bash
# Post-rollback verification through the ELB API: no listener rule forwards any weight to green.
# Env: LISTENER_ARN, GREEN_TARGET_GROUPS (space-separated ARNs).
set -euo pipefail
say() { printf '[post-rollback] %s\n' "$*" >&2; }
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
