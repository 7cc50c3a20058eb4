// Compiled, never run: the published types accept what the README shows.
import AutoPrintFarm, {
  APIError,
  NotFoundError,
  RateLimitError,
  verifyWebhook,
  type Job,
  type Page,
  type Printer,
} from '@autoprintfarm/sdk';

export async function usage(): Promise<void> {
  const client = new AutoPrintFarm({ apiKey: 'k', baseUrl: 'http://127.0.0.1:8000', maxRetries: 3 });
  const page: Page<Printer> = await client.printers.list({ status: 'printing', per_page: 50, fields: ['id', 'name'] });
  for await (const printer of client.printers.list({ group: 'production' })) printer.temperatures.hotend?.toFixed(1);
  for await (const p of page.iterPages()) p.pagination.total_pages.toFixed();
  await client.printers.pause(page.data[0]!.id);
  const job: Job = await client.jobs.create({ file: './part.gcode', priority: 'urgent', onProgress: (sent, total) => void [sent, total] });
  await client.jobs.create({ file_url: 'https://example.com/x.gcode' }, { idempotencyKey: 'order-456' });
  try {
    await client.jobs.get(job.id);
  } catch (err) {
    if (err instanceof NotFoundError) err.requestId?.toUpperCase();
    else if (err instanceof RateLimitError) err.retryAfter?.toFixed();
    else if (err instanceof APIError) err.code?.toUpperCase();
  }
  const event = verifyWebhook<{ id: string }>('{}', { 'webhook-id': 'x' }, 'whsec_AAAA');
  event.data.id.toUpperCase();
}
