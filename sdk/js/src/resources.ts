/** The API's resources (`client.printers`, `client.jobs` …), routes as in api-reference.md. */

import { pathOf, type Core, type QueryValue } from './core.js';
import { Multipart } from './multipart.js';
import type { PagePromise } from './pagination.js';
import type * as T from './types.js';
import { verifyWebhook, type HeadersLike, type VerifyOptions } from './webhooks.js';

type Opts = T.RequestOptions | undefined;

function listQuery(params: object): Record<string, QueryValue> {
  const query: Record<string, QueryValue> = {};
  for (const [key, value] of Object.entries(params)) query[key] = value as QueryValue;
  return query;
}

function withOptions(options: Opts): { options?: T.RequestOptions } {
  return options ? { options } : {};
}

abstract class Resource {
  constructor(protected readonly core: Core) {}
}

export class Printers extends Resource {
  list(params: T.PrinterListParams = {}, options?: Opts): PagePromise<T.Printer> {
    return this.core.page('/v1/printers', listQuery(params), options);
  }

  get(id: string, options?: Opts): Promise<T.Printer> {
    return this.core.request({ method: 'GET', path: pathOf('v1', 'printers', id), ...withOptions(options) });
  }

  create(params: T.PrinterCreateParams, options?: Opts): Promise<T.Printer> {
    return this.core.request({ method: 'POST', path: '/v1/printers', json: params, ...withOptions(options) });
  }

  update(id: string, params: T.PrinterUpdateParams, options?: Opts): Promise<T.Printer> {
    return this.core.request({ method: 'PATCH', path: pathOf('v1', 'printers', id), json: params, ...withOptions(options) });
  }

  async delete(id: string, options?: Opts): Promise<void> {
    await this.core.request({ method: 'DELETE', path: pathOf('v1', 'printers', id), ...withOptions(options) });
  }

  /** Send pause, resume, cancel, home or cooldown to the printer. */
  action(id: string, action: T.PrinterAction, options?: Opts): Promise<T.PrinterCommand> {
    return this.core.request({
      method: 'POST',
      path: pathOf('v1', 'printers', id, 'actions'),
      json: { action },
      ...withOptions(options),
    });
  }

  pause(id: string, options?: Opts): Promise<T.PrinterCommand> {
    return this.action(id, 'pause', options);
  }

  resume(id: string, options?: Opts): Promise<T.PrinterCommand> {
    return this.action(id, 'resume', options);
  }

  cancel(id: string, options?: Opts): Promise<T.PrinterCommand> {
    return this.action(id, 'cancel', options);
  }

  home(id: string, options?: Opts): Promise<T.PrinterCommand> {
    return this.action(id, 'home', options);
  }

  cooldown(id: string, options?: Opts): Promise<T.PrinterCommand> {
    return this.action(id, 'cooldown', options);
  }

  /**
   * Send raw G-code lines (1-50, printable ASCII, at most 96 characters each) to an idle
   * printer; needs an `admin` key. Waits up to 10 s for the printer: `status` `ok` and its
   * answer in `replies`, or `sent` when it has not answered yet.
   */
  gcode(id: string, lines: string[], options?: Opts): Promise<T.GcodeCommand> {
    if (!Array.isArray(lines)) throw new TypeError("pass the G-code as an array of lines, e.g. ['M105']");
    return this.core.request({
      method: 'POST',
      path: pathOf('v1', 'printers', id, 'gcode'),
      json: { lines },
      ...withOptions(options),
    });
  }
}

export class Jobs extends Resource {
  list(params: T.JobListParams = {}, options?: Opts): PagePromise<T.Job> {
    return this.core.page('/v1/jobs', listQuery(params), options);
  }

  get(id: string, options?: Opts): Promise<T.Job> {
    return this.core.request({ method: 'GET', path: pathOf('v1', 'jobs', id), ...withOptions(options) });
  }

  /**
   * Queue a job from `file_url`, or upload `file` (a path, Blob or bytes) as multipart
   * with `onProgress(sent, total)` called as the file goes out.
   */
  async create(params: T.JobCreateParams, options?: Opts): Promise<T.Job> {
    const { file, filename, onProgress, ...fields } = params;
    if ((file === undefined) === (fields.file_url === undefined)) {
      throw new TypeError('pass exactly one of file_url or file');
    }
    if (file === undefined) {
      return this.core.request({ method: 'POST', path: '/v1/jobs', json: fields, ...withOptions(options) });
    }
    // The spec's curl example sends plain form fields next to the file; tags go as one
    // comma-separated field (a tag cannot contain a comma).
    const form: Record<string, string> = {};
    for (const [key, value] of Object.entries(fields)) {
      if (value === undefined || value === null) continue;
      form[key] = Array.isArray(value) ? value.join(',') : String(value);
    }
    const upload = await Multipart.create(form, file, filename);
    return this.core.request({
      method: 'POST',
      path: '/v1/jobs',
      upload,
      ...(onProgress ? { onProgress } : {}),
      ...withOptions(options),
    });
  }

  /**
   * Validate and analyse `file` (a path, Blob or bytes) as `create` would, keeping nothing:
   * what a job from it would carry, or FileInvalidError with the reason.
   */
  async analyze(params: T.JobAnalyzeParams, options?: Opts): Promise<T.JobFileAnalysis> {
    const { file, filename, onProgress } = params;
    const upload = await Multipart.create({}, file, filename);
    return this.core.request({
      method: 'POST',
      path: '/v1/jobs/analyze',
      upload,
      ...(onProgress ? { onProgress } : {}),
      ...withOptions(options),
    });
  }

  update(id: string, params: T.JobUpdateParams, options?: Opts): Promise<T.Job> {
    return this.core.request({ method: 'PATCH', path: pathOf('v1', 'jobs', id), json: params, ...withOptions(options) });
  }

  /**
   * Remove a queued or finished job (resolves to null), or cancel one on a printer: a
   * cancel goes to its agent and the job, kept in the history, is returned.
   */
  async delete(id: string, options?: Opts): Promise<T.Job | null> {
    const job = await this.core.request<T.Job | undefined>({
      method: 'DELETE',
      path: pathOf('v1', 'jobs', id),
      ...withOptions(options),
    });
    return job ?? null;
  }

  /**
   * Pause, resume or cancel the job, on its printer or between two of its copies (a paused
   * job starts no next copy; cancel ends the copies left). Resolves to the job: on a
   * printer, its status changes once the agent has done it.
   */
  action(id: string, action: T.JobAction, options?: Opts): Promise<T.Job> {
    return this.core.request({
      method: 'POST',
      path: pathOf('v1', 'jobs', id, 'actions'),
      json: { action },
      ...withOptions(options),
    });
  }

  pause(id: string, options?: Opts): Promise<T.Job> {
    return this.action(id, 'pause', options);
  }

  resume(id: string, options?: Opts): Promise<T.Job> {
    return this.action(id, 'resume', options);
  }

  cancel(id: string, options?: Opts): Promise<T.Job> {
    return this.action(id, 'cancel', options);
  }
}

export class Materials extends Resource {
  list(params: T.MaterialListParams = {}, options?: Opts): PagePromise<T.Material> {
    return this.core.page('/v1/materials', listQuery(params), options);
  }

  get(id: string, options?: Opts): Promise<T.Material> {
    return this.core.request({ method: 'GET', path: pathOf('v1', 'materials', id), ...withOptions(options) });
  }

  create(params: T.MaterialCreateParams, options?: Opts): Promise<T.Material> {
    return this.core.request({ method: 'POST', path: '/v1/materials', json: params, ...withOptions(options) });
  }

  update(id: string, params: T.MaterialUpdateParams, options?: Opts): Promise<T.Material> {
    return this.core.request({ method: 'PATCH', path: pathOf('v1', 'materials', id), json: params, ...withOptions(options) });
  }

  async delete(id: string, options?: Opts): Promise<void> {
    await this.core.request({ method: 'DELETE', path: pathOf('v1', 'materials', id), ...withOptions(options) });
  }
}

function analyticsQuery(params: T.AnalyticsParams & { printer_id?: string }): Record<string, QueryValue> {
  return { from: params.from, to: params.to, group: params.group, printer_id: params.printer_id };
}

export class Analytics extends Resource {
  fleet(params: T.AnalyticsParams = {}, options?: Opts): Promise<T.FleetAnalytics> {
    return this.core.request({ method: 'GET', path: '/v1/analytics/fleet', query: analyticsQuery(params), ...withOptions(options) });
  }

  printer(id: string, params: Omit<T.AnalyticsParams, 'group'> = {}, options?: Opts): Promise<T.Analytics> {
    return this.core.request({
      method: 'GET',
      path: pathOf('v1', 'analytics', 'printers', id),
      query: analyticsQuery(params),
      ...withOptions(options),
    });
  }

  jobs(params: T.AnalyticsParams & { printer_id?: string } = {}, options?: Opts): Promise<T.Analytics> {
    return this.core.request({ method: 'GET', path: '/v1/analytics/jobs', query: analyticsQuery(params), ...withOptions(options) });
  }

  materials(params: T.AnalyticsParams = {}, options?: Opts): Promise<T.Analytics> {
    return this.core.request({ method: 'GET', path: '/v1/analytics/materials', query: analyticsQuery(params), ...withOptions(options) });
  }
}

export class Webhooks extends Resource {
  list(params: T.ListParams & { enabled?: boolean } = {}, options?: Opts): PagePromise<T.Webhook> {
    return this.core.page('/v1/webhooks', listQuery(params), options);
  }

  get(id: string, options?: Opts): Promise<T.Webhook> {
    return this.core.request({ method: 'GET', path: pathOf('v1', 'webhooks', id), ...withOptions(options) });
  }

  /** Register an endpoint; the answer's `secret` is shown only this once. */
  create(params: T.WebhookCreateParams, options?: Opts): Promise<T.Webhook> {
    return this.core.request({ method: 'POST', path: '/v1/webhooks', json: params, ...withOptions(options) });
  }

  update(id: string, params: T.WebhookUpdateParams, options?: Opts): Promise<T.Webhook> {
    return this.core.request({ method: 'PATCH', path: pathOf('v1', 'webhooks', id), json: params, ...withOptions(options) });
  }

  async delete(id: string, options?: Opts): Promise<void> {
    await this.core.request({ method: 'DELETE', path: pathOf('v1', 'webhooks', id), ...withOptions(options) });
  }

  /** Every delivery attempt to the endpoint, newest first (the delivery log). */
  deliveries(
    id: string,
    params: T.ListParams & { event?: string; success?: boolean } = {},
    options?: Opts,
  ): PagePromise<T.DeliveryAttempt> {
    return this.core.page(pathOf('v1', 'webhooks', id, 'deliveries'), listQuery(params), options);
  }

  /** Send a signed test event to the endpoint now; resolves to how the endpoint took it. */
  test(id: string, options?: Opts): Promise<T.WebhookTestResult> {
    return this.core.request({ method: 'POST', path: pathOf('v1', 'webhooks', id, 'test'), ...withOptions(options) });
  }

  /** Verify a delivery you received (same as the standalone verifyWebhook). */
  verify<D = Record<string, unknown>>(
    payload: string | Uint8Array,
    headers: HeadersLike,
    secret: string | Uint8Array,
    options?: VerifyOptions,
  ): T.WebhookEvent<D> {
    return verifyWebhook<D>(payload, headers, secret, options);
  }
}

export class OrganizationResource extends Resource {
  get(options?: Opts): Promise<T.Organization> {
    return this.core.request({ method: 'GET', path: '/v1/organization', ...withOptions(options) });
  }

  /** Rename the organization, or turn Home Assistant discovery of its printers on or off. */
  update(params: { name?: string; home_assistant_enabled?: boolean }, options?: Opts): Promise<T.Organization> {
    return this.core.request({ method: 'PATCH', path: '/v1/organization', json: params, ...withOptions(options) });
  }
}

export class Users extends Resource {
  list(params: T.ListParams & { role?: string } = {}, options?: Opts): PagePromise<T.User> {
    return this.core.page('/v1/users', listQuery(params), options);
  }

  get(id: string, options?: Opts): Promise<T.User> {
    return this.core.request({ method: 'GET', path: pathOf('v1', 'users', id), ...withOptions(options) });
  }

  /** Invite someone by email; the answer's `token` is shown only this once. */
  invite(params: { email: string; role?: string }, options?: Opts): Promise<T.Invitation> {
    return this.core.request({ method: 'POST', path: '/v1/users/invite', json: params, ...withOptions(options) });
  }

  /** The invitations not accepted yet and not expired (without their tokens). */
  invitations(params: T.ListParams = {}, options?: Opts): PagePromise<T.Invitation> {
    return this.core.page('/v1/invitations', listQuery(params), options);
  }

  /** Revoke an invitation not accepted yet: its token stops working at once. */
  async revokeInvitation(id: string, options?: Opts): Promise<void> {
    await this.core.request({ method: 'DELETE', path: pathOf('v1', 'invitations', id), ...withOptions(options) });
  }
}

export class Agents extends Resource {
  list(params: T.ListParams & { revoked?: boolean } = {}, options?: Opts): PagePromise<T.Agent> {
    return this.core.page('/v1/agents', listQuery(params), options);
  }

  get(id: string, options?: Opts): Promise<T.Agent> {
    return this.core.request({ method: 'GET', path: pathOf('v1', 'agents', id), ...withOptions(options) });
  }

  /** Register an agent; the answer carries its MQTT password and config, shown only once. */
  create(params: { name: string }, options?: Opts): Promise<T.AgentRegistration> {
    return this.core.request({ method: 'POST', path: '/v1/agents', json: params, ...withOptions(options) });
  }

  /**
   * A new MQTT password (and config file) for the agent, shown only this once. The old
   * password stops working at once: the agent is off the broker until it has the new one.
   */
  rotateCredentials(id: string, options?: Opts): Promise<T.AgentRegistration> {
    return this.core.request({ method: 'POST', path: pathOf('v1', 'agents', id, 'credentials'), ...withOptions(options) });
  }

  /** Revoke an agent: its broker login is removed and its connection closed. Idempotent. */
  async delete(id: string, options?: Opts): Promise<void> {
    await this.core.request({ method: 'DELETE', path: pathOf('v1', 'agents', id), ...withOptions(options) });
  }

  /** Revoke an agent, as `delete` does, and return it. Idempotent. */
  revoke(id: string, options?: Opts): Promise<T.Agent> {
    return this.core.request({ method: 'POST', path: pathOf('v1', 'agents', id, 'revoke'), ...withOptions(options) });
  }
}

/** Read-only MQTT logins for dashboards (the API key needs the admin scope). */
export class MqttCredentials extends Resource {
  list(params: T.ListParams & { revoked?: boolean } = {}, options?: Opts): PagePromise<T.MqttCredential> {
    return this.core.page('/v1/mqtt-credentials', listQuery(params), options);
  }

  get(id: string, options?: Opts): Promise<T.MqttCredential> {
    return this.core.request({ method: 'GET', path: pathOf('v1', 'mqtt-credentials', id), ...withOptions(options) });
  }

  /**
   * A login that may subscribe to this organization's agent status, printer state,
   * telemetry and events, and publish nothing. `password` and `url` are in this answer
   * only: store them now.
   */
  create(params: { name: string }, options?: Opts): Promise<T.MqttCredential> {
    return this.core.request({ method: 'POST', path: '/v1/mqtt-credentials', json: params, ...withOptions(options) });
  }

  /** Revoke: the login is removed from the broker and its connections closed. */
  async delete(id: string, options?: Opts): Promise<void> {
    await this.core.request({ method: 'DELETE', path: pathOf('v1', 'mqtt-credentials', id), ...withOptions(options) });
  }
}

/** The organization's API keys (the calling key needs the admin scope). */
export class ApiKeys extends Resource {
  list(params: T.ListParams & { revoked?: boolean } = {}, options?: Opts): PagePromise<T.ApiKey> {
    return this.core.page('/v1/api-keys', listQuery(params), options);
  }

  /** A new key with these scopes, acting for your key's user. `key` is in this answer only: store it now. */
  create(params: { scopes: string[]; name?: string }, options?: Opts): Promise<T.ApiKey> {
    return this.core.request({ method: 'POST', path: '/v1/api-keys', json: params, ...withOptions(options) });
  }

  /** Revoke a key: it is refused from the next request on. Idempotent; the last admin key stays. */
  async delete(id: string, options?: Opts): Promise<void> {
    await this.core.request({ method: 'DELETE', path: pathOf('v1', 'api-keys', id), ...withOptions(options) });
  }
}
