#!/usr/bin/env bash
# Post-deploy check of green; fails `pulumi up` when green is unhealthy.
# Env: MODE (deploy | rollback | latched), GREEN_TARGET_GROUPS (space-separated "service:green:arn"),
#      ALB_DNS, CERTIFICATE_ARN, CHECKS (space-separated "service:path"),
#      COHORT_HEADER and COHORT_USER (only when this phase routes the cohort to green), ATTEMPTS (default 10),
#      AWS_REGION and/or AWS_DEFAULT_REGION (the stack's region; required).
# 1. Through the ELB API, every registered green target (draining ones aside) is healthy, and
#    there is at least one: this sees green directly, whatever the weights are. Unlike pre-deploy,
#    'unused'/Target.NotInUse is no first deploy here: this hook runs after the listener rules, and
#    the weighted rule forwards to green even at weight 0, so AWS health-checks green (see lib.sh);
#    a target still Target.NotInUse after the retries is in an Availability Zone the ALB has not enabled.
# 2. When the cohort is routed to green, each health path through the ALB as a pilot user. TLS is
#    verified: the request names the certificate's own domain (SNI and Host) and is connected to
#    this ALB with --connect-to, since the ALB's DNS name is not on the certificate.
set -euo pipefail
HOOK=post-deploy
# shellcheck source=scripts/hooks/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_region
attempts=${ATTEMPTS:-10}

if [ "${MODE:-deploy}" != "deploy" ]; then
  say "${MODE}: traffic is held on 100 % blue; green is not smoke-tested (pre-deploy checked blue)"
  exit 0
fi

for entry in $GREEN_TARGET_GROUPS; do
  service=${entry%%:*}; arn=${entry##*:green:}
  for i in $(seq 1 "$attempts"); do
    health=$(target_health "$arn")
    # Draining targets are leaving on purpose (a scale-down or a rolling update).
    serving=$(grep -v '^draining\(/\|$\)' <<<"$health" || true)
    total=$(grep -c . <<<"$serving" || true)
    healthy=$(count_state healthy "$serving")
    if [ "$total" -gt 0 ] && [ "$healthy" -eq "$total" ]; then say "$service/green: $healthy/$total targets healthy"; break; fi
    if [ "$i" = "$attempts" ]; then
      states=${serving//$'\n'/ }
      not_in_use=""
      if grep -q '/Target\.NotInUse$' <<<"$serving"; then
        not_in_use=" (Target.NotInUse although the weighted rule forwards to this group: a target's Availability Zone is not enabled for the ALB)"
      fi
      say "$service/green: $healthy of $total registered targets healthy after $attempts checks (states: ${states:-none}): green is unhealthy$not_in_use"
      exit 1
    fi
    sleep $((i * 3))
  done
done

if [ -n "${COHORT_HEADER:-}" ] && [ -n "${COHORT_USER:-}" ]; then
  domain=$(aws acm describe-certificate --certificate-arn "$CERTIFICATE_ARN" --query 'Certificate.DomainName' --output text)
  # A wildcard certificate covers any one label: probe under a name that says what it is.
  host=${domain/#\*./rollout-smoke-test.}
  for check in $CHECKS; do
    service=${check%%:*}; path=${check#*:}
    for i in $(seq 1 "$attempts"); do
      code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 --connect-to "$host:443:$ALB_DNS:443" \
        -H "$COHORT_HEADER: $COHORT_USER" "https://$host$path" || echo 000)
      if [ "${code:0:1}" = "2" ]; then say "$service $path as cohort user -> $code"; break; fi
      if [ "$i" = "$attempts" ]; then say "$service $path as cohort user -> $code after $attempts attempts: green is unhealthy"; exit 1; fi
      sleep $((i * 2))
    done
  done
fi
say "green healthy"
