import { Core, type ClientOptions } from './core.js';
import type { RateLimit } from './ratelimit.js';
import {
  Agents,
  Analytics,
  ApiKeys,
  Jobs,
  Materials,
  MqttCredentials,
  OrganizationResource,
  Printers,
  Users,
  Webhooks,
} from './resources.js';

/**
 * The AutoPrintFarm /v1 API.
 *
 * ```ts
 * const client = new AutoPrintFarm({ apiKey: 'YOUR_KEY' });
 * for await (const printer of client.printers.list({ status: 'printing' })) { … }
 * ```
 */
export class AutoPrintFarm {
  /** Request plumbing (base URL, timeout, retry policy). */
  readonly core: Core;
  readonly printers: Printers;
  readonly jobs: Jobs;
  readonly materials: Materials;
  readonly analytics: Analytics;
  readonly webhooks: Webhooks;
  readonly organization: OrganizationResource;
  readonly users: Users;
  readonly agents: Agents;
  readonly mqttCredentials: MqttCredentials;
  readonly apiKeys: ApiKeys;

  constructor(options: ClientOptions = {}) {
    this.core = new Core(options);
    this.printers = new Printers(this.core);
    this.jobs = new Jobs(this.core);
    this.materials = new Materials(this.core);
    this.analytics = new Analytics(this.core);
    this.webhooks = new Webhooks(this.core);
    this.organization = new OrganizationResource(this.core);
    this.users = new Users(this.core);
    this.agents = new Agents(this.core);
    this.mqttCredentials = new MqttCredentials(this.core);
    this.apiKeys = new ApiKeys(this.core);
  }

  /** The API's root, as normalised: no trailing slash, no trailing `/v1`. */
  get baseUrl(): string {
    return this.core.baseUrl;
  }

  /** What the latest answer said about the key's rate limit (null before any answer). */
  get rateLimit(): RateLimit | null {
    return this.core.rateLimit;
  }
}

export default AutoPrintFarm;
