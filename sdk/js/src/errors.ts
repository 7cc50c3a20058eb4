import type { RateLimit } from './ratelimit.js';

/**
 * One error tree for everything the SDK throws (the same as the Python SDK's):
 *
 * AutoPrintFarmError
 * ├── APIError                    the API answered with an error envelope (or a bad status)
 * │   ├── InvalidRequestError         invalid_request
 * │   ├── AuthenticationError         invalid_api_key (401)
 * │   ├── PermissionDeniedError       insufficient_permissions (403)
 * │   ├── NotFoundError               resource_not_found (404)
 * │   ├── ConflictError               a 409 without a more precise code
 * │   │   ├── PrinterBusyError            printer_busy
 * │   │   └── PrinterOfflineError         printer_offline
 * │   ├── FileInvalidError            file_invalid
 * │   ├── QuotaExceededError          quota_exceeded
 * │   ├── RateLimitError              rate_limit_exceeded (429), with retryAfter (seconds)
 * │   └── InternalServerError         internal_error (5xx)
 * ├── APIConnectionError          no answer: refused, reset, DNS, TLS …
 * │   └── APITimeoutError             no answer in time
 * └── WebhookVerificationError    verifyWebhook refused a delivery
 *
 * The class is chosen from the envelope's `code` first (the cloud answers quota_exceeded
 * with 403, like insufficient_permissions), from the HTTP status only when the code is
 * missing or unknown.
 */

export class AutoPrintFarmError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export interface ErrorDetail {
  message?: string;
  param?: string | null;
  [key: string]: unknown;
}

export interface APIErrorInit {
  status: number;
  code?: string | null;
  param?: string | null;
  requestId?: string | null;
  details?: ErrorDetail[] | null;
  headers?: Headers;
  body?: unknown;
}

export class APIError extends AutoPrintFarmError {
  /** HTTP status of the answer. */
  readonly status: number;
  /** The spec's error code (`resource_not_found` …), when the answer carried one. */
  readonly code: string | null;
  /** The parameter at fault, when one is. */
  readonly param: string | null;
  /** The id to quote to support (also in the X-Request-Id header). */
  readonly requestId: string | null;
  readonly details: ErrorDetail[];
  readonly headers: Headers;
  readonly body: unknown;

  constructor(message: string, init: APIErrorInit) {
    super(message);
    this.status = init.status;
    this.code = init.code ?? null;
    this.param = init.param ?? null;
    this.requestId = init.requestId ?? null;
    this.details = init.details ?? [];
    this.headers = init.headers ?? new Headers();
    this.body = init.body;
  }

  override toString(): string {
    let text = `${this.name}: [${this.status}${this.code ? ` ${this.code}` : ''}] ${this.message}`;
    if (this.param) text += ` (param: ${this.param})`;
    if (this.requestId) text += ` (request ${this.requestId})`;
    return text;
  }
}

export class InvalidRequestError extends APIError {}
export class AuthenticationError extends APIError {}
export class PermissionDeniedError extends APIError {}
export class NotFoundError extends APIError {}
export class ConflictError extends APIError {}
export class PrinterBusyError extends ConflictError {}
export class PrinterOfflineError extends ConflictError {}
export class FileInvalidError extends APIError {}
export class QuotaExceededError extends APIError {}
export class InternalServerError extends APIError {}

export class RateLimitError extends APIError {
  /** Seconds the server asked us to wait (Retry-After), when it said. */
  readonly retryAfter: number | null;
  /** What the rate-limit headers said (limit, remaining, reset). */
  readonly rateLimit: RateLimit | null;

  constructor(
    message: string,
    init: APIErrorInit & { retryAfter?: number | null; rateLimit?: RateLimit | null },
  ) {
    super(message, init);
    this.retryAfter = init.retryAfter ?? null;
    this.rateLimit = init.rateLimit ?? null;
  }
}

export class APIConnectionError extends AutoPrintFarmError {
  readonly method: string;
  readonly url: string;

  constructor(message: string, init: { method: string; url: string; cause?: unknown }) {
    super(message, { cause: init.cause });
    this.method = init.method;
    this.url = init.url;
  }
}

export class APITimeoutError extends APIConnectionError {}

export class WebhookVerificationError extends AutoPrintFarmError {}

type APIErrorClass = new (message: string, init: APIErrorInit) => APIError;

export const ERROR_CODES: Readonly<Record<string, APIErrorClass>> = {
  invalid_request: InvalidRequestError,
  invalid_api_key: AuthenticationError,
  insufficient_permissions: PermissionDeniedError,
  resource_not_found: NotFoundError,
  printer_busy: PrinterBusyError,
  printer_offline: PrinterOfflineError,
  file_invalid: FileInvalidError,
  quota_exceeded: QuotaExceededError,
  rate_limit_exceeded: RateLimitError,
  internal_error: InternalServerError,
};

const STATUSES: Readonly<Record<number, APIErrorClass>> = {
  401: AuthenticationError,
  403: PermissionDeniedError,
  404: NotFoundError,
  409: ConflictError,
  429: RateLimitError,
};

/** The most specific class for an error answer: by spec code, else by status. */
export function errorClass(code: string | null | undefined, status: number): APIErrorClass {
  if (code && Object.hasOwn(ERROR_CODES, code)) return ERROR_CODES[code]!;
  if (status >= 500) return InternalServerError;
  const byStatus = STATUSES[status];
  if (byStatus) return byStatus;
  if (status >= 400) return InvalidRequestError;
  return APIError;
}
