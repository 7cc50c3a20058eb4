/**
 * Shapes of the API's JSON (field names as on the wire, as in api-reference.md).
 * With `fields=…` sparse sets, the fields not asked for are absent.
 */

export interface Pagination {
  page: number;
  per_page: number;
  total: number;
  total_pages: number;
}

export interface ListParams {
  page?: number;
  /** Results per page (max 100). */
  per_page?: number;
  /** `field` ascending, `-field` descending; comma-separated for several keys. */
  sort?: string;
  /** Only these fields in each object: `'id,name'` or `['id', 'name']`. */
  fields?: string | string[];
}

/** Filament a printer itself reports loaded (a Bambu Lab AMS tray, its external spool). */
export interface ReportedMaterial {
  /** The printer's name for where it sits: `'AMS1 tray 2'`, `'external'`. */
  slot: string;
  /** `'PLA'`; null for an empty tray or one the printer cannot identify. */
  type: string | null;
  /** `'#RRGGBB'`. */
  color: string | null;
  remaining_pct: number | null;
}

export interface Printer {
  id: string;
  name: string;
  status: string;
  model: string | null;
  firmware: string | null;
  temperatures: { hotend: number | null; bed: number | null };
  current_job: string | null;
  progress: number | null;
  group: string | null;
  tags: string[];
  agent_id?: string | null;
  connection_type?: string;
  connection_url?: string;
  has_api_key?: boolean;
  /** What the printer reports loaded, as its agent said last; `[]` if it cannot tell. */
  reported_materials?: ReportedMaterial[];
  created_at: string;
  updated_at: string;
}

export interface PrinterListParams extends ListParams {
  status?: string;
  group?: string;
  tag?: string;
}

export interface PrinterCreateParams {
  name: string;
  connection_url: string;
  api_key?: string;
  model?: string;
  group?: string;
  tags?: string[];
  agent_id?: string;
}

export type PrinterUpdateParams = Partial<{
  [K in keyof PrinterCreateParams]: PrinterCreateParams[K] | null;
}>;

export type PrinterAction = 'pause' | 'resume' | 'cancel' | 'home' | 'cooldown';

/**
 * A printer action: `status` is `ok` once done, `sent` while its agent has not answered.
 * Between two copies of a job the cloud does a pause, resume or cancel itself: then `id`
 * and `expires_at` are null. `job_id`: the job it acted on, if any.
 */
export interface PrinterCommand {
  id: string | null;
  printer_id: string;
  job_id?: string | null;
  action: PrinterAction;
  status: string;
  error_code?: string | null;
  created_at: string;
  expires_at: string | null;
}

/** Console G-code (admin keys): `status` `ok` once the printer answered, with `replies`. */
export interface GcodeCommand {
  id: string;
  printer_id: string;
  lines: string[];
  status: string;
  replies: string[];
  created_at: string;
  expires_at: string;
}

export type JobAction = 'pause' | 'resume' | 'cancel';

export interface Job {
  id: string;
  name: string;
  status: string;
  priority: string;
  printer_id: string | null;
  progress: number | null;
  file_url: string | null;
  estimated_duration: number | null;
  elapsed_time: number | null;
  material: { type: string | null; color: string | null; estimated_usage: number | null } | null;
  copies?: number;
  copies_completed?: number;
  tags?: string[];
  failure_reason?: string | null;
  created_at: string;
  updated_at?: string;
  started_at: string | null;
  completed_at: string | null;
}

export interface JobListParams extends ListParams {
  status?: string;
  printer_id?: string;
  priority?: string;
  /** Start date (ISO 8601). */
  from?: string | Date;
  /** End date (ISO 8601). */
  to?: string | Date;
}

/** What an upload reports: bytes of the file handed to the HTTP stack so far. */
export type ProgressCallback = (sent: number, total: number | null) => void;

export interface JobCreateParams {
  /** Where the cloud downloads the G-code from … */
  file_url?: string;
  /** … or the G-code itself: a path, a Blob/File, or bytes (sent as multipart). */
  file?: string | Blob | Uint8Array | ArrayBuffer;
  /** The upload's file name (default: the path's base name, the File's name, or upload.gcode). */
  filename?: string;
  name?: string;
  priority?: 'low' | 'normal' | 'high' | 'urgent' | (string & {});
  /** Optional: auto-assigned when omitted. */
  printer_id?: string;
  /** A material type ("PLA"): the queue picks a printer with it loaded … */
  material?: string;
  /** … and this colour, when given. */
  material_color?: string;
  copies?: number;
  tags?: string[];
  onProgress?: ProgressCallback;
}

export interface JobAnalyzeParams {
  /** The G-code: a path, a Blob/File, or bytes (sent as multipart, nothing else with it). */
  file: string | Blob | Uint8Array | ArrayBuffer;
  filename?: string;
  onProgress?: ProgressCallback;
}

/** What `jobs.analyze` found: what a job from the file would carry, and more. */
export interface JobFileAnalysis {
  filename: string;
  size_bytes: number;
  /** Seconds. */
  estimated_duration: number;
  /** `slicer` (the file's own figure) or `computed` (from the moves). */
  estimated_duration_source: string;
  /** The slicer's type; `color` is null (files are not read for one); usage in grams. */
  material: { type: string | null; color: string | null; estimated_usage: number | null };
  filament_used_mm: number;
  layer_count: number | null;
  layer_height_mm: number | null;
  nozzle_diameter_mm: number | null;
  first_layer_hotend_c: number | null;
  first_layer_bed_c: number | null;
  slicer: { name: string; version: string | null } | null;
  /** Sentences to read before queueing it. */
  warnings: string[];
}

/** Only a queued job can change. */
export type JobUpdateParams = Partial<{
  name: string;
  priority: string;
  tags: string[];
}>;

export interface Material {
  id: string;
  type: string;
  brand: string | null;
  color: string | null;
  spool_weight: number;
  remaining_weight: number;
  cost_per_kg: number | null;
  printer_id: string | null;
  reorder_threshold: number | null;
  status: string;
  created_at: string;
  updated_at?: string;
}

export interface MaterialListParams extends ListParams {
  status?: string;
  type?: string;
  printer_id?: string;
}

export interface MaterialCreateParams {
  type: string;
  spool_weight: number;
  remaining_weight?: number;
  brand?: string;
  color?: string;
  cost_per_kg?: number;
  printer_id?: string;
  reorder_threshold?: number;
  archived?: boolean;
}

export type MaterialUpdateParams = Partial<{
  type: string;
  brand: string | null;
  color: string | null;
  spool_weight: number;
  remaining_weight: number;
  cost_per_kg: number | null;
  printer_id: string | null;
  reorder_threshold: number | null;
  archived: boolean;
}>;

export interface Period {
  from: string;
  to: string;
}

export interface FleetAnalytics {
  period: Period;
  metrics: {
    total_printers: number;
    active_printers: number;
    utilization_rate: number | null;
    jobs_completed: number;
    success_rate: number | null;
    total_print_time: number;
    material_consumed: number;
    estimated_cost: number | null;
  };
}

export interface Analytics {
  period: Period;
  metrics: Record<string, unknown>;
  data?: Record<string, unknown>[];
  printer_id?: string;
}

export interface AnalyticsParams {
  from?: string | Date;
  to?: string | Date;
  group?: string;
}

export interface Webhook {
  id: string;
  url: string;
  events: string[];
  enabled: boolean;
  /** Only in the answer to create: store it, it is never returned again. */
  secret?: string;
  /** Set when the cloud switched the endpoint off: "gone" (it answered 410) or "failing". */
  disabled_reason?: string | null;
  disabled_at?: string | null;
  failing_since?: string | null;
  last_success_at?: string | null;
  last_failure_at?: string | null;
  created_at: string;
  updated_at?: string;
}

export interface WebhookCreateParams {
  url: string;
  events: string[];
  secret?: string;
  enabled?: boolean;
}

export type WebhookUpdateParams = Partial<WebhookCreateParams>;

/** How your endpoint took the test event of `webhooks.test(id)`. */
export interface WebhookTestResult {
  id: string;
  webhook_id: string;
  message_id: string;
  event: string;
  success: boolean;
  status: string;
  status_code: number | null;
  latency_ms: number;
  error: string | null;
  created_at: string;
}

/** One HTTP attempt at delivering one message to an endpoint. */
export interface DeliveryAttempt {
  id: string;
  webhook_id: string;
  /** The webhook-id header: the same on every retry of one message. */
  message_id: string;
  event: string;
  attempt: number;
  attempted_at: string;
  status_code: number | null;
  latency_ms: number | null;
  success: boolean;
  error: string | null;
  /** "succeeded", "retrying", "failed" or "test". */
  outcome: string;
  next_retry_at: string | null;
}

export interface Organization {
  id: string;
  name: string;
  plan: string;
  /** The plan's limits; null means unlimited. */
  limits?: Record<'printers' | 'agents' | 'users' | 'storage_bytes' | 'active_jobs', number | null>;
  usage?: Record<'printers' | 'agents' | 'users' | 'storage_bytes' | 'active_jobs', number>;
  /** Home Assistant MQTT discovery of the organization's printers (docs/home-assistant.md). */
  home_assistant_enabled: boolean;
  created_at: string;
  updated_at?: string;
}

export interface User {
  id: string;
  email: string;
  name: string;
  role: string;
  created_at: string;
}

export interface Invitation {
  id: string;
  email: string;
  role: string;
  created_at: string;
  expires_at: string;
  /** Only in the answer to invite: what the invitee accepts with. */
  token?: string;
  /** In the list of open invitations: the inviting key's user (null: an organization key). */
  invited_by?: string | null;
}

export interface Agent {
  id: string;
  name: string;
  state: string;
  version: string | null;
  mqtt_username: string;
  last_seen_at: string | null;
  created_at: string;
  revoked_at: string | null;
  revoked: boolean;
}

/** The answer to registering an agent or rotating its credentials, shown once. */
export interface AgentRegistration {
  agent: Agent;
  mqtt: {
    url: string;
    username: string;
    password: string;
    client_id: string;
    topic_root: string;
    /** The broker had the login when the answer was sent (false: applied once it is back). */
    provisioned: boolean;
  };
  config_toml: string;
}

/** A read-only MQTT login for dashboards. */
export interface MqttCredential {
  id: string;
  name: string;
  username: string;
  /** The topic filters it may subscribe to; it can publish nothing. */
  topics: string[];
  created_at: string;
  revoked_at: string | null;
  revoked: boolean;
  /** Only in the answer to create: never shown again. */
  password?: string;
  /** Only in the answer to create: where to connect (mqtt:// or mqtts://). */
  url?: string;
  /** Only in the answer to create: the broker had the login when the answer was sent. */
  provisioned?: boolean;
}

/** An API key of the organization, listed by its prefix. */
export interface ApiKey {
  id: string;
  name: string;
  /** The first 12 characters of the key, all that is kept readable. */
  prefix: string;
  scopes: string[];
  /** The user the key acts for. */
  user_id: string | null;
  created_at: string;
  /** Recorded at most once a minute. */
  last_used_at: string | null;
  revoked_at: string | null;
  revoked: boolean;
  /** Only in the answer to create: never shown again. */
  key?: string;
}

/** A verified webhook delivery: `id` from the webhook-id header, the rest from the body. */
export interface WebhookEvent<D = Record<string, unknown>> {
  id: string;
  type: string;
  timestamp: string | null;
  data: D;
}

/** Per-call options. */
export interface RequestOptions {
  /** Sent as the Idempotency-Key header: makes a POST safe to retry. */
  idempotencyKey?: string;
  /** Milliseconds without progress before the call fails (default: the client's). */
  timeout?: number;
  signal?: AbortSignal;
}
