#!/usr/bin/env python3
"""Extract the AWS API shapes test/awsContract.test.ts checks the program's plans against.

Run by hand, never in CI (CI reads the committed fixtures and needs no Python):

    python3 scripts/aws-models/extract.py \
        /root/.pyenv/versions/3.11.7/lib/python3.11/site-packages/botocore/data

The argument is botocore's `data` directory (pip's botocore is current; Debian's
python3-botocore is years behind: use the newest). For each service in OPERATIONS it reads
the newest `<service>/<apiVersion>/service-2.json(.gz)`, keeps only the shapes reachable from
those operations' inputs and only the constraints the checker uses (type, required, members,
min, max, pattern, enum, list member, map key/value, sensitive), and writes
test/fixtures/aws-models/<service>.json with its provenance.

Some limits AWS states only in a member's documentation (a target group name's 32
characters, a path pattern's 128, TreatMissingData's values). DOCUMENTED lists them: each is
found in the model's own documentation text by a regex, its quote is kept in the fixture, and
a regex that no longer matches stops the extraction, so a changed sentence is seen, not
silently dropped. Then re-run `npm test`: the contract test reads only the fixtures.
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import hashlib
import html
import json
import os
import re
import sys
from typing import Any, Callable

# The API operations whose input carries what the program's resources declare
# (the mapping is test/awsContract.test.ts). Adding a resource type there may need one here.
OPERATIONS: dict[str, list[str]] = {
    "backup": ["CreateBackupPlan", "CreateBackupSelection", "CreateBackupVault"],
    "cloudwatch": ["PutCompositeAlarm", "PutDashboard", "PutMetricAlarm"],
    "ec2": ["AuthorizeSecurityGroupEgress", "AuthorizeSecurityGroupIngress", "CreateSecurityGroup"],
    "elbv2": [
        "CreateListener",
        "CreateLoadBalancer",
        "CreateRule",
        "CreateTargetGroup",
        "ModifyLoadBalancerAttributes",
        "ModifyTargetGroupAttributes",
    ],
    "eks": ["CreatePodIdentityAssociation"],
    "events": ["PutRule", "PutTargets"],
    "iam": ["AttachRolePolicy", "CreateRole", "PutRolePolicy"],
    "kms": ["CreateAlias", "CreateKey", "EnableKeyRotation", "ScheduleKeyDeletion"],
    "lambda": ["AddPermission", "CreateFunction", "PutFunctionConcurrency", "PutFunctionEventInvokeConfig"],
    "logs": ["CreateLogGroup", "PutRetentionPolicy"],
    "rds": [
        "CreateDBInstance",
        "CreateDBSnapshot",
        "CreateDBSubnetGroup",
        "CreateOptionGroup",
        "DeleteDBInstance",
        "ModifyDBInstance",
        "ModifyOptionGroup",
    ],
    "sns": ["CreateTopic", "SetTopicAttributes", "Subscribe"],
    "sqs": ["CreateQueue", "SetQueueAttributes"],
    "ssm": ["PutParameter"],
    "wafv2": ["AssociateWebACL", "CreateWebACL"],
}

KEEP = ("type", "required", "min", "max", "pattern", "enum", "sensitive")


def chars_class(listed: str) -> str:
    """'a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*' -> a JS character class."""
    ranges = re.findall(r"[a-zA-Z0-9]-[a-zA-Z0-9]", listed)
    rest = re.sub(r"[a-zA-Z0-9]-[a-zA-Z0-9],?", "", listed)
    rest = re.sub(r"\bspaces\b,?", "", rest).replace("and ", "").replace(", ", "")
    symbols = "".join(sorted(set(rest.strip()), key=rest.index))
    escaped = "".join("\\" + c if c in "\\]^-[" else c for c in symbols)
    return "[" + "".join(ranges) + " " + escaped + "]"


def ints(text: str) -> list[int]:
    return [int(n.replace(",", "")) for n in re.findall(r"\d[\d,]*", text)]


# (service, structure, member, regex over the documentation text, constraint builder, options)
# options: "each" (the constraint applies to every item of a list), "when" (only when sibling
# members hold one of these values; None = the member is absent).
Doc = tuple[str, str, str, str, Callable[[re.Match[str]], dict[str, Any]], dict[str, Any]]
NAME_32 = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
DOCUMENTED: list[Doc] = [
    ("elbv2", "CreateTargetGroupInput", "Name",
     r"can have a maximum of (\d+) characters, must contain only alphanumeric characters or hyphens, and must not begin or end with a hyphen",
     lambda m: {"max": int(m[1]), "pattern": NAME_32}, {}),
    ("elbv2", "CreateLoadBalancerInput", "Name",
     r"can have a maximum of (\d+) characters, must contain only alphanumeric characters or hyphens, must not begin or end with a hyphen, and must not begin with \"internal-\"",
     lambda m: {"max": int(m[1]), "pattern": "(?!internal-)" + NAME_32}, {}),
    ("elbv2", "PathPatternConditionConfig", "Values", r"The maximum length of each string is (\d+) characters",
     lambda m: {"max": int(m[1])}, {"each": True}),
    ("elbv2", "HttpHeaderConditionConfig", "HttpHeaderName", r"The maximum length is (\d+) characters",
     lambda m: {"max": int(m[1])}, {}),
    ("elbv2", "HttpHeaderConditionConfig", "Values", r"The maximum length of each string is (\d+) characters",
     lambda m: {"max": int(m[1])}, {"each": True}),
    ("elbv2", "TargetGroupTuple", "Weight", r"The range is (\d+) to (\d+)\.",
     lambda m: {"min": int(m[1]), "max": int(m[2])}, {}),
    ("elbv2", "TargetGroupStickinessConfig", "DurationSeconds", r"The range is (\d+)-(\d+) seconds",
     lambda m: {"min": int(m[1]), "max": int(m[2])}, {}),
    ("elbv2", "RedirectActionConfig", "Port", r"You can specify a value from 1 to 65535 or #\{port\}",
     lambda m: {"pattern": r"#\{port\}|[1-9]\d{0,3}|[1-5]\d{4}|6[0-4]\d{3}|65[0-4]\d{2}|655[0-2]\d|6553[0-5]"}, {}),
    ("elbv2", "FixedResponseActionConfig", "ContentType", r"Valid Values: ([a-z/]+(?: \| [a-z/]+)*)",
     lambda m: {"enum": m[1].split(" | ")}, {}),
    ("cloudwatch", "PutMetricAlarmInput", "TreatMissingData", r"Valid Values: (\w+(?: \| \w+)*)",
     lambda m: {"enum": m[1].split(" | ")}, {}),
    ("cloudwatch", "PutMetricAlarmInput", "Period", r"Valid values are 10, 20, 30, and any multiple of 60\.",
     lambda m: {"enum": [10, 20, 30], "orMultipleOf": 60}, {}),
    ("cloudwatch", "MetricStat", "Period",
     r"the period can be 1, 5, 10, 20, 30, 60, or any multiple of 60\.",
     lambda m: {"enum": [1, 5, 10, 20, 30, 60], "orMultipleOf": 60}, {}),
    ("cloudwatch", "MetricDataQuery", "Id",
     r"The valid characters are letters, numbers, and underscore\. The first character must be a lowercase letter\.",
     lambda m: {"pattern": "[a-z][A-Za-z0-9_]*"}, {}),
    ("cloudwatch", "PutMetricAlarmInput", "ExtendedStatistic",
     r"the following are valid values: p90 tm90 tc90 ts90 wm90 IQM PR\(n:m\).*?between 10 and 90 inclusive\.",
     lambda m: {"pattern": r"(?:p|tm|tc|ts|wm)(?:100|\d{1,2}(?:\.\d+)?)|IQM|PR\([^:()]*:[^:()]*\)|(?:TC|TM|TS|WM)\(\d+(?:\.\d+)?%:\d+(?:\.\d+)?%\)"}, {}),
    ("cloudwatch", "PutDashboardInput", "DashboardName",
     r"The maximum length is (\d+), and valid characters are A-Z, a-z, 0-9, \"-\", and \"_\"",
     lambda m: {"max": int(m[1]), "pattern": "[A-Za-z0-9_-]+"}, {}),
    ("lambda", "CreateFunctionRequest", "Timeout", r"The maximum allowed value is (\d+) seconds",
     lambda m: {"max": int(m[1])}, {}),
    ("sns", "CreateTopicInput", "Name",
     r"Topic names must be made up of only uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, and must be between (\d+) and (\d+) characters long",
     lambda m: {"min": int(m[1]), "max": int(m[2]), "pattern": r"[A-Za-z0-9_-]+(?:\.fifo)?"}, {}),
    ("sns", "SubscribeInput", "Protocol", r"Supported protocols include: (.*)$",
     lambda m: {"enum": re.findall(r"([a-z][a-z-]*) –", m[1])}, {}),
    ("sqs", "CreateQueueRequest", "QueueName",
     r"A queue name can have up to (\d+) characters\. Valid values: alphanumeric characters, hyphens \(-\), and underscores \(_\)\. A FIFO queue name must end with the \.fifo suffix",
     lambda m: {"max": int(m[1]), "pattern": r"[A-Za-z0-9_-]+(?:\.fifo)?"}, {}),
    ("ssm", "PutParameterRequest", "Value", r"Standard parameters have a value limit of (\d+) KB",
     lambda m: {"max": int(m[1]) * 1024, "unit": "bytes"}, {"when": {"Tier": ["Standard", None]}}),
    ("ssm", "PutParameterRequest", "Value", r"Advanced parameters have a value limit of (\d+) KB",
     lambda m: {"max": int(m[1]) * 1024, "unit": "bytes"}, {"when": {"Tier": ["Advanced", "Intelligent-Tiering"]}}),
    ("kms", "ScheduleKeyDeletionRequest", "PendingWindowInDays", r"it must be between (\d+) and (\d+), inclusive",
     lambda m: {"min": int(m[1]), "max": int(m[2])}, {}),
    ("kms", "CreateAliasRequest", "AliasName", r"This value must begin with alias/ followed by a name.*?The alias name cannot begin with alias/aws/",
     lambda m: {"pattern": "alias/(?!aws/).+"}, {}),
    ("logs", "PutRetentionPolicyRequest", "retentionInDays", r"Possible values are: ([\d, and]+)\.",
     lambda m: {"enum": ints(m[1])}, {}),
    ("ec2", "CreateSecurityGroupRequest", "Description",
     r"Constraints: Up to (\d+) characters in length Valid characters: (.*?\*)",
     lambda m: {"max": int(m[1]), "pattern": chars_class(m[2]) + "*"}, {}),
    ("ec2", "CreateSecurityGroupRequest", "GroupName",
     r"Constraints: Up to (\d+) characters in length\. Can't start with sg-\. Valid characters: (.*?\*)",
     lambda m: {"max": int(m[1]), "pattern": "(?!sg-)" + chars_class(m[2]) + "*"}, {}),
    ("ec2", "IpRange", "Description", r"Constraints: Up to (\d+) characters in length\. Allowed characters are (.*?\*)",
     lambda m: {"max": int(m[1]), "pattern": chars_class(m[2]) + "*"}, {}),
    ("ec2", "UserIdGroupPair", "Description", r"Constraints: Up to (\d+) characters in length\. Allowed characters are (.*?\*)",
     lambda m: {"max": int(m[1]), "pattern": chars_class(m[2]) + "*"}, {}),
    ("backup", "BackupPlanInput", "BackupPlanName", r"Must contain (\d+) to (\d+) alphanumeric or '-_\.' characters",
     lambda m: {"pattern": "[A-Za-z0-9._-]{%s,%s}" % (m[1], m[2])}, {}),
    ("rds", "CreateDBInstanceMessage", "DBInstanceIdentifier",
     r"Must contain from 1 to (\d+) letters, numbers, or hyphens\. First character must be a letter\. Can't end with a hyphen or contain two consecutive hyphens\.",
     lambda m: {"max": int(m[1]), "pattern": "(?!.*--)[A-Za-z](?:[A-Za-z0-9-]*[A-Za-z0-9])?"}, {}),
    ("rds", "CreateDBInstanceMessage", "MasterUsername",
     r"Must be 1 to (\d+) letters, numbers, or underscores\. First character must be a letter\.",
     lambda m: {"max": int(m[1]), "pattern": "[A-Za-z][A-Za-z0-9_]*"}, {}),
    ("rds", "CreateDBInstanceMessage", "DBName",
     r"RDS for MySQL .*? Constraints: Must contain 1 to (\d+) letters or numbers\. Must begin with a letter\. Subsequent characters can be letters, underscores, or digits \(0-9\)\.",
     lambda m: {"max": int(m[1]), "pattern": "[A-Za-z][A-Za-z0-9_]*"}, {"when": {"Engine": ["mysql"]}}),
    ("rds", "CreateDBInstanceMessage", "BackupRetentionPeriod", r"Must be a value from (\d+) to (\d+)\.",
     lambda m: {"min": int(m[1]), "max": int(m[2])}, {}),
    ("rds", "CreateDBInstanceMessage", "PreferredBackupWindow", r"Must be in the format hh24:mi-hh24:mi\.",
     lambda m: {"pattern": "(?:[01]\\d|2[0-3]):[0-5]\\d-(?:[01]\\d|2[0-3]):[0-5]\\d"}, {}),
    ("rds", "CreateDBInstanceMessage", "AllocatedStorage",
     r"RDS for MySQL Constraints to the amount of storage for each storage type are the following: General Purpose \(SSD\) storage \(gp2, gp3\): Must be an integer from (\d+) to (\d+)\.",
     lambda m: {"min": int(m[1]), "max": int(m[2])}, {"when": {"Engine": ["mysql"], "StorageType": ["gp2", "gp3"]}}),
    ("rds", "CreateDBInstanceMessage", "Engine", r"Valid Values: (.*)$",
     lambda m: {"enum": re.sub(r"\([^)]*\)", " ", m[1]).split()}, {}),
    ("rds", "CreateDBInstanceMessage", "StorageType", r"Valid Values: (\w+(?: \| \w+)*)",
     lambda m: {"enum": m[1].split(" | ")}, {}),
    ("rds", "CreateDBInstanceMessage", "EnableCloudwatchLogsExports", r"RDS for MySQL - ([\w-]+(?: \| [\w-]+)*)",
     lambda m: {"enum": m[1].split(" | ")}, {"each": True, "when": {"Engine": ["mysql"]}}),
    ("rds", "CreateDBInstanceMessage", "MonitoringInterval", r"Valid Values: (\d+(?: \| \d+)*)",
     lambda m: {"enum": ints(m[1])}, {}),
    ("rds", "CreateDBInstanceMessage", "PerformanceInsightsRetentionPeriod",
     r"Valid Values: (\d+) month \* 31, where month is a number of months from (\d+)-(\d+)\..*? (\d+) Default",
     lambda m: {"enum": [int(m[1]), *(31 * n for n in range(int(m[2]), int(m[3]) + 1)), int(m[4])]}, {}),
    ("rds", "CreateOptionGroupMessage", "OptionGroupName",
     r"Must be 1 to (\d+) letters, numbers, or hyphens First character must be a letter Can't end with a hyphen or contain two consecutive hyphens",
     lambda m: {"max": int(m[1]), "pattern": "(?!.*--)[A-Za-z](?:[A-Za-z0-9-]*[A-Za-z0-9])?"}, {}),
    ("rds", "CreateOptionGroupMessage", "EngineName", r"Valid Values: ([a-z0-9-]+(?: [a-z0-9-]+)*)$",
     lambda m: {"enum": m[1].split()}, {}),
    ("rds", "CreateDBSubnetGroupMessage", "DBSubnetGroupName",
     r"Must contain no more than (\d+) letters, numbers, periods, underscores, spaces, or hyphens\. Must not be default\. First character must be a letter\.",
     lambda m: {"max": int(m[1]), "pattern": "(?!default$)[A-Za-z][A-Za-z0-9._ -]*"}, {}),
    ("rds", "CreateDBSnapshotMessage", "DBSnapshotIdentifier",
     r"Must contain from 1 to (\d+) letters, numbers, or hyphens First character must be a letter Can't end with a hyphen or contain two consecutive hyphens",
     lambda m: {"max": int(m[1]), "pattern": "(?!.*--)[A-Za-z](?:[A-Za-z0-9-]*[A-Za-z0-9])?"}, {}),
    # "letters or numbers", yet "can't end with a hyphen": hyphens are allowed, as in DBSnapshotIdentifier.
    ("rds", "DeleteDBInstanceMessage", "FinalDBSnapshotIdentifier",
     r"Must be 1 to (\d+) letters or numbers\. First character must be a letter\. Can't end with a hyphen or contain two consecutive hyphens\.",
     lambda m: {"max": int(m[1]), "pattern": "(?!.*--)[A-Za-z](?:[A-Za-z0-9-]*[A-Za-z0-9])?"}, {}),
]


def doc_text(raw: str | None) -> str:
    """The documentation as one line of text: block tags become spaces, inline tags vanish."""
    text = re.sub(r"</?(?:p|li|ul|ol|note|important|br|dl|dt|dd)\b[^>]*>", " ", raw or "")
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", text))).strip()


def newest_model(data_dir: str, service: str) -> tuple[str, str]:
    base = os.path.join(data_dir, service)
    for version in sorted(os.listdir(base), reverse=True):
        for name in ("service-2.json.gz", "service-2.json"):
            path = os.path.join(base, version, name)
            if os.path.exists(path):
                return version, path
    raise SystemExit(f"{service}: no service-2.json(.gz) under {base}")


def botocore_version(data_dir: str) -> str:
    init = os.path.join(os.path.dirname(os.path.abspath(data_dir)), "__init__.py")
    with open(init, encoding="utf-8") as f:
        found = re.search(r"^__version__ = ['\"]([^'\"]+)['\"]", f.read(), re.M)
    if not found:
        raise SystemExit(f"no __version__ in {init}")
    return found[1]


def extract(data_dir: str, service: str, operations: list[str], version: str, date: str) -> dict[str, Any]:
    api_version, path = newest_model(data_dir, service)
    with open(path, "rb") as f:
        raw = f.read()
    model = json.loads(gzip.decompress(raw) if path.endswith(".gz") else raw)
    shapes = model["shapes"]

    inputs: dict[str, str] = {}
    for op in operations:
        if op not in model["operations"]:
            raise SystemExit(f"{service}: no operation {op}")
        inputs[op] = model["operations"][op]["input"]["shape"]

    kept: dict[str, Any] = {}
    pending = list(inputs.values())
    while pending:
        name = pending.pop()
        if name in kept:
            continue
        shape = shapes[name]
        out: dict[str, Any] = {k: shape[k] for k in KEEP if k in shape}
        if shape["type"] == "structure":
            out["members"] = {m: {"shape": ref["shape"]} for m, ref in shape["members"].items()}
            pending.extend(ref["shape"] for ref in shape["members"].values())
        elif shape["type"] == "list":
            out["member"] = shape["member"]["shape"]
            pending.append(shape["member"]["shape"])
        elif shape["type"] == "map":
            out["key"], out["value"] = shape["key"]["shape"], shape["value"]["shape"]
            pending.extend([shape["key"]["shape"], shape["value"]["shape"]])
        kept[name] = out

    for svc, structure, member, regex, build, options in DOCUMENTED:
        if svc != service:
            continue
        if structure not in kept or member not in kept[structure].get("members", {}):
            raise SystemExit(f"{service}: documented constraint on {structure}.{member}, not reachable")
        ref = shapes[structure]["members"][member]
        text = doc_text(ref.get("documentation")) or doc_text(shapes[ref["shape"]].get("documentation"))
        found = re.search(regex, text)
        if not found:
            raise SystemExit(
                f"{service}: {structure}.{member}: documentation no longer says /{regex}/; read it and update DOCUMENTED:\n{text}"
            )
        constraint = {**build(found), **options, "quote": found[0]}
        kept[structure]["members"][member].setdefault("doc", []).append(constraint)

    return {
        "provenance": {
            "source": "botocore service model (AWS's published API model, as shipped in botocore on PyPI)",
            "botocoreVersion": version,
            "service": service,
            "serviceId": model["metadata"].get("serviceId"),
            "apiVersion": api_version,
            "path": path,
            "sha256": hashlib.sha256(raw).hexdigest(),
            "extracted": date,
            "script": "scripts/aws-models/extract.py",
        },
        "operations": dict(sorted(inputs.items())),
        "shapes": dict(sorted(kept.items())),
    }


def main() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dir", help="botocore's data directory")
    parser.add_argument("--out", default=os.path.join(here, "..", "..", "test", "fixtures", "aws-models"))
    parser.add_argument("--date", default=datetime.date.today().isoformat(), help="extraction date (default: today)")
    args = parser.parse_args()
    version = botocore_version(args.data_dir)
    os.makedirs(args.out, exist_ok=True)
    for service, operations in OPERATIONS.items():
        fixture = extract(args.data_dir, service, operations, version, args.date)
        target = os.path.join(args.out, f"{service}.json")
        with open(target, "w", encoding="utf-8") as f:
            # One shape per line: small, diffable, and left alone by Prettier (.prettierignore).
            f.write("{\n")
            f.write(f'  "provenance": {json.dumps(fixture["provenance"], ensure_ascii=False)},\n')
            f.write(f'  "operations": {json.dumps(fixture["operations"])},\n')
            f.write('  "shapes": {\n')
            items = list(fixture["shapes"].items())
            for i, (name, shape) in enumerate(items):
                comma = "," if i < len(items) - 1 else ""
                f.write(f"    {json.dumps(name)}: {json.dumps(shape, ensure_ascii=False)}{comma}\n")
            f.write("  }\n}\n")
        print(f"{service}: {fixture['provenance']['apiVersion']}, {len(fixture['shapes'])} shapes -> {os.path.relpath(target)}", file=sys.stderr)


if __name__ == "__main__":
    main()
