/**
 * Verify the webhooks AutoPrintFarm sends you (Standard Webhooks v1, the scheme the cloud
 * signs with): HMAC-SHA256 over `${webhook-id}.${webhook-timestamp}.${body}`, header
 * `webhook-signature: v1,<base64>` (several, space-separated, during a key rotation),
 * timestamps accepted within 5 minutes. A secret written `whsec_<base64>` is decoded; any
 * other secret is used as its UTF-8 bytes (e.g. the spec's `webhook_secret_key`).
 */

import { createHmac, timingSafeEqual } from 'node:crypto';

import { WebhookVerificationError } from './errors.js';
import type { WebhookEvent } from './types.js';

export const DEFAULT_TOLERANCE_S = 300;
const SECRET_PREFIX = 'whsec_';

export type HeadersLike = Headers | Record<string, string | string[] | undefined>;

function header(headers: HeadersLike, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return Array.isArray(value) ? value.join(' ') : value;
  }
  return undefined;
}

function secretKey(secret: string | Uint8Array): Buffer {
  if (typeof secret !== 'string') return Buffer.from(secret);
  if (secret.startsWith(SECRET_PREFIX)) {
    const encoded = secret.slice(SECRET_PREFIX.length);
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded) || encoded.length % 4 !== 0) {
      throw new WebhookVerificationError('a whsec_ secret must be base64 after the prefix');
    }
    return Buffer.from(encoded, 'base64');
  }
  return Buffer.from(secret, 'utf8');
}

/** The `webhook-signature` value for a body: for testing your receiver. */
export function signWebhook(
  secret: string | Uint8Array,
  id: string,
  timestampS: number,
  payload: string | Uint8Array,
): string {
  if (id.includes('.')) throw new TypeError("a webhook id must not contain '.'");
  const mac = createHmac('sha256', secretKey(secret));
  mac.update(`${id}.${timestampS}.`);
  mac.update(typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload);
  return `v1,${mac.digest('base64')}`;
}

export interface VerifyOptions {
  /** Seconds a timestamp may be from now (default 300). */
  toleranceS?: number;
  /** "Now" in Unix seconds (default: the clock). */
  nowS?: number;
}

/**
 * The delivered event if `headers` carry a valid signature of `payload` (the raw body,
 * exactly as received); throws WebhookVerificationError otherwise. Deliveries are at
 * least once: deduplicate on `event.id`.
 */
export function verifyWebhook<D = Record<string, unknown>>(
  payload: string | Uint8Array,
  headers: HeadersLike,
  secret: string | Uint8Array,
  options: VerifyOptions = {},
): WebhookEvent<D> {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !timestamp || !signatures) {
    throw new WebhookVerificationError('missing webhook-id, webhook-timestamp or webhook-signature');
  }
  if (!/^\d+$/.test(timestamp.trim())) {
    throw new WebhookVerificationError('webhook-timestamp is not an integer');
  }
  const timestampS = Number(timestamp.trim());
  const nowS = options.nowS ?? Date.now() / 1000;
  if (Math.abs(nowS - timestampS) > (options.toleranceS ?? DEFAULT_TOLERANCE_S)) {
    throw new WebhookVerificationError('webhook-timestamp is too far from now (replay?)');
  }
  const expected = Buffer.from(signWebhook(secret, id, timestampS, payload));
  const match = signatures
    .split(' ')
    .map((s) => Buffer.from(s))
    .some((candidate) => candidate.length === expected.length && timingSafeEqual(candidate, expected));
  if (!match) throw new WebhookVerificationError('no matching v1 signature');
  const text = typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new WebhookVerificationError(`signed body is not JSON: ${String(error)}`);
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new WebhookVerificationError('signed body is not an event object');
  }
  const event = body as { type?: unknown; timestamp?: unknown; data?: unknown };
  return {
    id,
    type: typeof event.type === 'string' ? event.type : '',
    timestamp: typeof event.timestamp === 'string' ? event.timestamp : null,
    data: (event.data ?? {}) as D,
  };
}
