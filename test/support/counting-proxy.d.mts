export interface CountingProxy {
  /** When each request of `api` (e.g. secretsmanager.ListSecrets) reached the proxy (Date.now()), before its added latency. */
  arrivals(api: string): number[]
  /** Requests per API (X-Amz-Target, e.g. secretsmanager.GetSecretValue). */
  counts: Map<string, number>
  /** Of those, the requests the server crashed on (an HTML 5xx page, not an AWS error), whose API starts with `prefix`. */
  crashed(prefix?: string): number
  reset(): void
  stop(): Promise<void>
  /** Requests whose API starts with `prefix` (default: every Secrets Manager call). */
  total(prefix?: string): number
  url: string
}

export function startCountingProxy(target: string, options?: {delayMs?: number}): Promise<CountingProxy>
