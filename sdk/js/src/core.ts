/** The request engine shared by every resource: auth, timeouts, retries, errors, pages. */

import {
  APIConnectionError,
  APIError,
  APITimeoutError,
  AutoPrintFarmError,
  RateLimitError,
  errorClass,
  type ErrorDetail,
} from './errors.js';
import type { Multipart } from './multipart.js';
import { rateLimitFrom, type RateLimit } from './ratelimit.js';
import { Page, PagePromise } from './pagination.js';
import {
  backoff,
  mayRetryNetwork,
  mayRetryStatus,
  retryAfterFrom,
  retryPolicy,
  type RetryOptions,
  type RetryPolicy,
} from './retry.js';
import type { Pagination, ProgressCallback, RequestOptions } from './types.js';
import { VERSION } from './version.js';

export const DEFAULT_BASE_URL = 'https://api.autoprintfarm.com';
export const DEFAULT_TIMEOUT_MS = 60_000;

export interface ClientOptions {
  /** Your API key; default `process.env.APF_API_KEY`. */
  apiKey?: string;
  /**
   * The API's root, with or without a trailing `/v1` (and slash); default
   * `process.env.APF_BASE_URL`, else https://api.autoprintfarm.com.
   */
  baseUrl?: string;
  /** Milliseconds without progress (connect, each upload chunk, the answer) before failing. */
  timeout?: number;
  /** Shorthand for `retry.maxRetries` (default 2). */
  maxRetries?: number;
  retry?: RetryOptions;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
  /** A fetch implementation (default: the global fetch of Node 20+). */
  fetch?: typeof fetch;
}

export type QueryValue = string | number | boolean | Date | string[] | null | undefined;

export interface Call {
  method: string;
  path: string;
  query?: Record<string, QueryValue>;
  json?: unknown;
  upload?: Multipart;
  onProgress?: ProgressCallback;
  options?: RequestOptions;
}

/** Every path the SDK calls starts with it (the API's version). */
const API_PREFIX = '/v1';

/**
 * The API's root: `url` without trailing slashes nor a last `/v1` segment. Every call's path
 * starts with `/v1`, and people paste the URL they were shown, which often ends in `/v1` (the
 * demo prints `API URL: http://127.0.0.1:8000/v1`); both forms name the same API.
 */
function apiRoot(url: string): string {
  // Only the path is looked at: a host named `v1` stays a host.
  const parts = /^([a-z][a-z0-9+.-]*:\/\/[^/?#]*)([^?#]*)(.*)$/i.exec(url);
  if (parts === null) return url;
  const [, origin = '', path = '', rest = ''] = parts;
  let root = path.replace(/\/+$/, '');
  if (root.endsWith(API_PREFIX)) root = root.slice(0, -API_PREFIX.length).replace(/\/+$/, '');
  return origin + root + rest;
}

function env(name: string): string | undefined {
  return typeof process !== 'undefined' ? process.env[name] : undefined;
}

// Connection failures where no byte of the request reached the server (undici error codes).
const NOT_SENT = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

function causeCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export function encodeQuery(query: Record<string, QueryValue> | undefined): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) params.set(key, value.join(','));
    else if (value instanceof Date) params.set(key, value.toISOString());
    else params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

export function pathOf(...segments: string[]): string {
  return segments
    .map((segment) => {
      if (!segment) throw new TypeError('an id must not be empty');
      return encodeURIComponent(segment);
    })
    .reduce((acc, s) => `${acc}/${s}`, '');
}

class Deadline {
  readonly controller = new AbortController();
  private timer: ReturnType<typeof setTimeout> | undefined;
  expired = false;

  constructor(
    private readonly ms: number,
    signal?: AbortSignal,
  ) {
    if (signal) {
      if (signal.aborted) this.controller.abort(signal.reason);
      else signal.addEventListener('abort', () => this.controller.abort(signal.reason), { once: true });
    }
    this.touch();
  }

  /** Progress was made: the timeout counts again from now. */
  touch(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.expired = true;
      this.controller.abort(new DOMException('timed out', 'TimeoutError'));
    }, this.ms);
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}

interface ErrorEnvelope {
  error?: {
    code?: string;
    message?: string;
    param?: string;
    request_id?: string;
    details?: ErrorDetail[];
  };
}

async function apiError(response: Response): Promise<APIError> {
  const text = await response.text();
  let envelope: ErrorEnvelope = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object') envelope = parsed as ErrorEnvelope;
  } catch {
    // Not JSON (a proxy's HTML page): the status alone decides.
  }
  const err = envelope.error ?? {};
  const message = err.message ?? `HTTP ${response.status} ${response.statusText}`.trim();
  const init = {
    status: response.status,
    code: err.code ?? null,
    param: err.param ?? null,
    requestId: err.request_id ?? response.headers.get('x-request-id'),
    details: err.details ?? null,
    headers: response.headers,
    body: text.slice(0, 2000),
  };
  const cls = errorClass(err.code, response.status);
  if (cls === RateLimitError) {
    return new RateLimitError(message, {
      ...init,
      retryAfter: retryAfterFrom(response.headers),
      rateLimit: rateLimitFrom(response.headers),
    });
  }
  return new cls(message, init);
}

export class Core {
  readonly baseUrl: string;
  readonly timeout: number;
  readonly retry: RetryPolicy;
  private readonly apiKey: string;
  private readonly headers: Record<string, string>;
  private readonly fetchImpl: typeof fetch;
  /** What the latest answer said about the key's rate limit (null before any answer). */
  rateLimit: RateLimit | null = null;
  /** How the client waits between retries (replaceable in tests). */
  _sleep: (seconds: number) => Promise<void> = (s) =>
    new Promise((resolve) => setTimeout(resolve, s * 1000));

  constructor(options: ClientOptions = {}) {
    const apiKey = options.apiKey ?? env('APF_API_KEY');
    if (!apiKey) {
      throw new AutoPrintFarmError(
        'No API key: pass new AutoPrintFarm({ apiKey }) or set the APF_API_KEY environment variable.',
      );
    }
    const baseUrl = options.baseUrl || env('APF_BASE_URL') || DEFAULT_BASE_URL;
    if (!/^https?:\/\//.test(baseUrl)) {
      throw new AutoPrintFarmError(`baseUrl must start with http:// or https://, got ${baseUrl}`);
    }
    this.apiKey = apiKey;
    this.baseUrl = apiRoot(baseUrl);
    this.timeout = options.timeout ?? DEFAULT_TIMEOUT_MS;
    this.retry = retryPolicy({ ...options.retry, ...(options.maxRetries !== undefined ? { maxRetries: options.maxRetries } : {}) });
    this.headers = options.headers ?? {};
    const impl = options.fetch ?? globalThis.fetch;
    if (typeof impl !== 'function') {
      throw new AutoPrintFarmError('No fetch available: use Node 20+ or pass options.fetch.');
    }
    this.fetchImpl = impl;
  }

  async request<T>(call: Call): Promise<T> {
    const policy = this.retry;
    const hasKey = call.options?.idempotencyKey !== undefined;
    for (let attempt = 0; ; attempt += 1) {
      let delay: number | null;
      try {
        return await this.once<T>(call);
      } catch (error) {
        if (error instanceof APIError) {
          delay = this.statusDelay(call, error, attempt, hasKey);
        } else if (error instanceof APIConnectionError) {
          const sent = !NOT_SENT.has(causeCode(error.cause) ?? '');
          const ok = attempt < policy.maxRetries && mayRetryNetwork(call.method, sent, hasKey);
          delay = ok ? backoff(policy, attempt) : null;
        } else {
          throw error;
        }
        if (delay === null) throw error;
      }
      await this._sleep(delay);
    }
  }

  private statusDelay(call: Call, error: APIError, attempt: number, hasKey: boolean): number | null {
    const policy = this.retry;
    if (attempt >= policy.maxRetries || !mayRetryStatus(call.method, error.status, hasKey)) {
      return null;
    }
    if (error instanceof RateLimitError && error.retryAfter !== null) {
      return error.retryAfter > policy.maxRetryAfter ? null : error.retryAfter;
    }
    return backoff(policy, attempt);
  }

  private async once<T>(call: Call): Promise<T> {
    const url = this.baseUrl + call.path + encodeQuery(call.query);
    const headers: Record<string, string> = {
      Authorization: `Bearer ${this.apiKey}`,
      Accept: 'application/json',
      'User-Agent': `autoprintfarm-js/${VERSION} (Node ${typeof process !== 'undefined' ? process.version : '?'})`,
      ...this.headers,
    };
    if (call.options?.idempotencyKey !== undefined) {
      headers['Idempotency-Key'] = `"${call.options.idempotencyKey.replace(/"/g, '')}"`;
    }
    const deadline = new Deadline(call.options?.timeout ?? this.timeout, call.options?.signal);
    const init: RequestInit & { duplex?: 'half' } = {
      method: call.method,
      headers,
      signal: deadline.controller.signal,
      redirect: 'manual',
    };
    if (call.upload) {
      Object.assign(headers, call.upload.headers());
      init.body = call.upload.stream(call.onProgress, () => deadline.touch());
      init.duplex = 'half';
    } else if (call.json !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(call.json);
    }
    try {
      let response: Response;
      try {
        response = await this.fetchImpl(url, init);
      } catch (error) {
        throw this.connectionError(error, deadline, call.method, url);
      }
      deadline.touch();
      this.rateLimit = rateLimitFrom(response.headers) ?? this.rateLimit;
      if (!response.ok) throw await apiError(response);
      if (response.status === 204) return undefined as T;
      try {
        return (await response.json()) as T;
      } catch (error) {
        if (deadline.expired) throw this.connectionError(error, deadline, call.method, url);
        throw new APIError(`Unexpected response body: ${String(error)}`, {
          status: response.status,
          requestId: response.headers.get('x-request-id'),
          headers: response.headers,
        });
      }
    } finally {
      deadline.clear();
    }
  }

  private connectionError(error: unknown, deadline: Deadline, method: string, url: string): unknown {
    if (deadline.expired) {
      return new APITimeoutError(`${method} ${url} timed out`, { method, url, cause: error });
    }
    if (error instanceof DOMException && error.name === 'AbortError') return error; // caller's
    const code = causeCode(error);
    return new APIConnectionError(`${method} ${url} failed${code ? ` (${code})` : ''}`, {
      method,
      url,
      cause: error,
    });
  }

  page<T>(path: string, query: Record<string, QueryValue>, options?: RequestOptions): PagePromise<T> {
    const fetchPage = async (page: number | undefined): Promise<Page<T>> => {
      const wanted = page === undefined ? query : { ...query, page };
      const body = await this.request<{ data: T[]; pagination: Pagination }>({
        method: 'GET',
        path,
        query: wanted,
        ...(options ? { options } : {}),
      });
      return new Page<T>(body.data, body.pagination, fetchPage);
    };
    return new PagePromise<T>(fetchPage(undefined));
  }
}
