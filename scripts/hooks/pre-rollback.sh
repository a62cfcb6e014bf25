#!/usr/bin/env bash
# Pre-rollback check: blue must have healthy targets before all traffic is sent to it.
# Env: BLUE_TARGET_GROUPS (space-separated "service:arn").
set -euo pipefail
say() { printf '[pre-rollback] %s\n' "$*" >&2; }
for entry in $BLUE_TARGET_GROUPS; do
  service=${entry%%:*}; arn=${entry#*:}
  healthy=$(aws elbv2 describe-target-health --target-group-arn "$arn" \
    --query "length(TargetHealthDescriptions[?TargetHealth.State=='healthy'])" --output text)
  if [ "${healthy:-0}" -lt 1 ]; then
    say "$service: blue has no healthy target; rolling back to it would drop traffic - scale blue up first"
    exit 1
  fi
  say "$service: blue has $healthy healthy targets"
done
