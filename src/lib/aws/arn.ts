/** arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME -> REGION; undefined for a name. */
export function arnRegion(secretId: string): string | undefined {
  return /^arn:[^:]+:secretsmanager:([^:]+):/.exec(secretId)?.[1]
}
