# shellcheck shell=bash
# Shared by the deploy hooks; sourced, never run. The caller sets HOOK (its name) and `set -euo pipefail`.

say() { printf '[%s] %s\n' "$HOOK" "$*" >&2; }

# Every AWS call must reach the stack's region: DeployHooks sets AWS_REGION and AWS_DEFAULT_REGION
# to its aws:region. Without them the CLI would fall back to the deployer's profile, and a hook
# could pass or fail by looking at another region's resources.
require_region() {
  if [ -z "${AWS_REGION:-}" ] && [ -z "${AWS_DEFAULT_REGION:-}" ]; then
    say "neither AWS_REGION nor AWS_DEFAULT_REGION is set: refusing to ask AWS in whatever region this shell defaults to (pulumi up sets both to the stack's aws:region)"
    exit 1
  fi
}

# A target group's registered targets, one line each: its state, then "/reason" when AWS gives one
# (healthy targets have none), e.g. "healthy", "unhealthy/Target.Timeout", "unused/Target.NotInUse".
# Nothing at all when no target is registered. The CLI prints a missing Reason as "None".
target_health() {
  aws elbv2 describe-target-health --target-group-arn "$1" \
    --query 'TargetHealthDescriptions[].[TargetHealth.State,TargetHealth.Reason]' --output text |
    awk -F '\t' '{ print ($2 == "None" ? $1 : $1 "/" $2) }'
}

# Whether the group's targets have no health yet because no load balancer uses the group: the
# first deploy of a stack, or a target group replaced in this `up`, before the listener rules that
# wait for the pre-deploy hook point at it. Says so when it is.
#
# AWS reports such targets State "unused" with Reason "Target.NotInUse" (both names as in the ELBv2
# API model's TargetHealthStateEnum and TargetHealthReasonEnum):
# - ELB user guide, health check reason codes, Target.NotInUse: "Target group is not configured to
#   receive traffic from the load balancer"; state unused: "the target group is not used in a
#   listener rule for the load balancer"
#   (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html).
# - Health checks are performed only on targets of "a target group that is specified in a listener
#   rule" (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-target-groups.html);
#   a forward that lists the group at weight 0 specifies it too, so after the rules it is in use.
# - The same reason also covers "the target is in an Availability Zone that is not enabled for its
#   load balancer" (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_TargetHealth.html),
#   a real fault. So every target must say unused/Target.NotInUse AND the group must have no load
#   balancer (DescribeTargetGroups' LoadBalancerArns: "the load balancer that routes traffic to this
#   target group"). A group that cannot be described is not assumed unused.
# $1: "service/colour" for the message, $2: ARN, $3: target_health's lines.
not_in_use_yet() {
  local label=$1 arn=$2 health=$3
  [ -n "$health" ] || return 1
  if grep -qvxF 'unused/Target.NotInUse' <<<"$health"; then return 1; fi
  no_load_balancer "$arn" || return 1
  say "$label: first deploy: no load balancer uses this target group yet, so AWS reports its $(wc -l <<<"$health") registered targets 'unused' (Target.NotInUse) and has no health for them until the listener rules forward to it"
}

# Whether no load balancer routes to target group $1 (DescribeTargetGroups' LoadBalancerArns is
# empty). A group that cannot be described is not assumed unused.
no_load_balancer() {
  local balancers
  balancers=$(aws elbv2 describe-target-groups --target-group-arns "$1" \
    --query 'TargetGroups[0].LoadBalancerArns' --output text) || return 1
  [ -z "$balancers" ]
}

# How many of target_health's lines have state $1 (e.g. healthy).
count_state() { cut -d/ -f1 <<<"$2" | grep -cxF "$1" || true; }
