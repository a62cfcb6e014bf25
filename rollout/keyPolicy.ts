/**
 * The first statement of every customer managed key the stack creates (the alert topics', the
 * rollback function's): the account itself may administer the key, so IAM policies in the account
 * grant the use of it. This is the AWS KMS default key policy's "Allows access to the AWS account
 * and enables IAM policies" statement (AWS KMS Developer Guide, "Default key policy"); without it a
 * key can become unmanageable. `accountRootArn` is `arn:aws:iam::<account>:root`, a plain string or
 * a Pulumi output (pulumi.jsonStringify resolves it where the policy is written).
 */
export function accountAdministersKey<Arn>(accountRootArn: Arn) {
  return {
    Sid: "AccountAdministers",
    Effect: "Allow",
    Principal: { AWS: accountRootArn },
    Action: "kms:*",
    Resource: "*",
  } as const;
}
