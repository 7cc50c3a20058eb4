/**
 * When a failed request is retried, and after how long (the same rule as the Python SDK;
 * README "Retries"):
 *
 * - 429 rate_limit_exceeded: retried for every method, POST included (the cloud's limiter
 *   refuses before any handler runs), after Retry-After (seconds or an HTTP date,
 *   RFC 9110 §10.2.3); a Retry-After beyond `maxRetryAfter` is thrown at once.
 * - A connection that failed before the request was sent (refused, DNS, connect timeout):
 *   retried for every method; the server never saw it.
 * - Failures after the request may have reached the server (timeout waiting for the
 *   answer, reset, 502/503/504): retried only for GET, HEAD, OPTIONS, PUT, DELETE
 *   (idempotent, RFC 9110 §9.2.2) or a request carrying an Idempotency-Key.
 * - Anything else (4xx, 500) is never retried.
 *
 * Waits grow as initialDelay × 2^n up to maxDelay, with jitter (a uniform draw in the upper
 * half) so clients that failed together do not come back together.
 */

export interface RetryOptions {
  /** Retries after the first attempt (default 2; 0 disables retries). */
  maxRetries?: number;
  /** Seconds before the first retry (default 0.5). */
  initialDelay?: number;
  /** Longest backoff in seconds (default 8). */
  maxDelay?: number;
  /** A 429 asking for a longer wait than this many seconds is thrown, not waited (60). */
  maxRetryAfter?: number;
}

export type RetryPolicy = Required<RetryOptions>;

export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set([
  'GET',
  'HEAD',
  'OPTIONS',
  'PUT',
  'DELETE',
]);
const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([502, 503, 504]);

export function retryPolicy(options: RetryOptions = {}): RetryPolicy {
  return {
    maxRetries: options.maxRetries ?? 2,
    initialDelay: options.initialDelay ?? 0.5,
    maxDelay: options.maxDelay ?? 8,
    maxRetryAfter: options.maxRetryAfter ?? 60,
  };
}

export function backoff(policy: RetryPolicy, attempt: number, random = Math.random): number {
  const cap = Math.min(policy.maxDelay, policy.initialDelay * 2 ** attempt);
  return cap / 2 + random() * (cap / 2);
}

/** Seconds to wait from a Retry-After value (delta-seconds or an HTTP date). */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | null {
  if (value === null) return null;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const when = Date.parse(text);
  if (Number.isNaN(when)) return null;
  return Math.max(0, (when - now) / 1000);
}

/** Retry-After, else the reset (`t=`) of the draft-11 `RateLimit` header. */
export function retryAfterFrom(headers: Headers): number | null {
  const seconds = parseRetryAfter(headers.get('retry-after'));
  if (seconds !== null) return seconds;
  for (const item of (headers.get('ratelimit') ?? '').split(';')) {
    const [key, raw] = item.trim().split('=', 2);
    if (key === 't' && raw !== undefined && /^\d+$/.test(raw)) return Number(raw);
  }
  return null;
}

export function mayRetryStatus(method: string, status: number, idempotencyKey: boolean): boolean {
  if (status === 429) return true;
  if (RETRYABLE_STATUSES.has(status)) {
    return IDEMPOTENT_METHODS.has(method.toUpperCase()) || idempotencyKey;
  }
  return false;
}

export function mayRetryNetwork(method: string, sent: boolean, idempotencyKey: boolean): boolean {
  if (!sent) return true;
  return IDEMPOTENT_METHODS.has(method.toUpperCase()) || idempotencyKey;
}
