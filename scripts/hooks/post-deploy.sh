#!/usr/bin/env bash
# Post-deploy check of green; fails `pulumi up` when green is unhealthy.
# Env: MODE (deploy | rollback | latched), GREEN_TARGET_GROUPS (space-separated "service:green:arn"),
#      ALB_DNS, CERTIFICATE_ARN, CHECKS (space-separated "service:path"),
#      COHORT_HEADER and COHORT_USER (only when this phase routes the cohort to green), ATTEMPTS (default 10).
# 1. Through the ELB API, every registered green target (draining ones aside) is healthy, and
#    there is at least one: this sees green directly, whatever the weights are.
# 2. When the cohort is routed to green, each health path through the ALB as a pilot user. TLS is
#    verified: the request names the certificate's own domain (SNI and Host) and is connected to
#    this ALB with --connect-to, since the ALB's DNS name is not on the certificate.
set -euo pipefail
say() { printf '[post-deploy] %s\n' "$*" >&2; }
attempts=${ATTEMPTS:-10}

if [ "${MODE:-deploy}" != "deploy" ]; then
  say "${MODE}: traffic is held on 100 % blue; green is not smoke-tested (pre-deploy checked blue)"
  exit 0
fi

for entry in $GREEN_TARGET_GROUPS; do
  service=${entry%%:*}; arn=${entry##*:green:}
  for i in $(seq 1 "$attempts"); do
    states=$(aws elbv2 describe-target-health --target-group-arn "$arn" \
      --query "TargetHealthDescriptions[?TargetHealth.State!='draining'].TargetHealth.State" --output text)
    total=$(wc -w <<<"$states")
    healthy=$(grep -ow healthy <<<"$states" | wc -l || true)
    if [ "$total" -gt 0 ] && [ "$healthy" -eq "$total" ]; then say "$service/green: $healthy/$total targets healthy"; break; fi
    if [ "$i" = "$attempts" ]; then
      say "$service/green: $healthy of $total registered targets healthy after $attempts checks (states: ${states:-none}): green is unhealthy"
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
