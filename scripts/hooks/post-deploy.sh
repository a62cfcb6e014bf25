#!/usr/bin/env bash
# Post-deploy smoke test: every service's health path through the ALB over HTTPS, as a pilot user
# (the cohort header sends the request to green). Fails `pulumi up` when green is unhealthy.
# Env: ALB_DNS, CHECKS (space-separated "service:path"), COHORT_HEADER, COHORT_USER, ATTEMPTS (default 5).
set -euo pipefail
say() { printf '[post-deploy] %s\n' "$*" >&2; }
attempts=${ATTEMPTS:-5}
header=()
if [ -n "${COHORT_HEADER:-}" ] && [ -n "${COHORT_USER:-}" ]; then header=(-H "$COHORT_HEADER: $COHORT_USER"); fi

for check in $CHECKS; do
  service=${check%%:*}; path=${check#*:}
  for i in $(seq 1 "$attempts"); do
    code=$(curl -sk -o /dev/null -w '%{http_code}' --max-time 10 "${header[@]}" "https://$ALB_DNS$path" || echo 000)
    if [ "${code:0:1}" = "2" ]; then say "$service $path -> $code"; break; fi
    if [ "$i" = "$attempts" ]; then say "$service $path -> $code after $attempts attempts: green is unhealthy"; exit 1; fi
    sleep $((i * 2))
  done
done
