export { AutoPrintFarm, AutoPrintFarm as default } from './client.js';
export { DEFAULT_BASE_URL, DEFAULT_TIMEOUT_MS, type ClientOptions } from './core.js';
export * from './errors.js';
export { Page, PagePromise } from './pagination.js';
export { rateLimitFrom, type RateLimit } from './ratelimit.js';
export type { RetryOptions } from './retry.js';
export type * from './types.js';
export { VERSION } from './version.js';
export { DEFAULT_TOLERANCE_S, signWebhook, verifyWebhook, type HeadersLike, type VerifyOptions } from './webhooks.js';
