/** arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME -> REGION; undefined for a name. */
export function arnRegion(secretId: string): string | undefined {
  return /^arn:[^:]+:secretsmanager:([^:]+):/.exec(secretId)?.[1]
}

/** arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME, as IAM writes role ARNs (names: letters, digits and +=,.@_-). */
export const ROLE_ARN = /^arn:[a-z-]+:iam::\d{12}:role\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/
export const ROLE_ARN_EXAMPLE = 'arn:aws:iam::123456789012:role/secrets-reader'
