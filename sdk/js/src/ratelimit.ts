/**
 * The API's rate-limit headers, read into one value: draft-ietf-httpapi-ratelimit-headers-11
 * (`RateLimit-Policy: "default";q=600;w=60`, `RateLimit: "default";r=599;t=42`) or
 * `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (the names of the draft's
 * -05/-06 versions), all of which the cloud sends; draft-11's win where both are present.
 */

export interface RateLimit {
  /** Requests allowed per window. */
  limit: number | null;
  /** Requests left in this window. */
  remaining: number | null;
  /** Seconds until the window resets. */
  resetS: number | null;
  /** The window's length in seconds. */
  windowS: number | null;
}

function params(value: string | null): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (value ?? '').split(';').slice(1)) {
    const [key, raw] = part.trim().split('=', 2);
    if (key && raw !== undefined) out.set(key, raw);
  }
  return out;
}

function num(raw: string | null | undefined): number | null {
  if (raw === null || raw === undefined || raw.trim() === '') return null;
  const n = Number(raw);
  return Number.isFinite(n) ? n : null;
}

export function rateLimitFrom(headers: Headers): RateLimit | null {
  const policy = params(headers.get('ratelimit-policy'));
  const state = params(headers.get('ratelimit'));
  const pick = (map: Map<string, string>, key: string, fallback: string): number | null =>
    map.has(key) ? num(map.get(key)) : num(headers.get(fallback));
  const limit = pick(policy, 'q', 'ratelimit-limit');
  const remaining = pick(state, 'r', 'ratelimit-remaining');
  const resetS = pick(state, 't', 'ratelimit-reset');
  if (limit === null && remaining === null && resetS === null) return null;
  return { limit, remaining, resetS, windowS: num(policy.get('w')) };
}
