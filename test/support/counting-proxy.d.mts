export interface CountingProxy {
  /** Requests per API (X-Amz-Target, e.g. secretsmanager.GetSecretValue). */
  counts: Map<string, number>
  reset(): void
  stop(): Promise<void>
  /** Requests whose API starts with `prefix` (default: every Secrets Manager call). */
  total(prefix?: string): number
  url: string
}

export function startCountingProxy(target: string, options?: {delayMs?: number}): Promise<CountingProxy>
