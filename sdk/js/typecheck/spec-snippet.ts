import { AutoPrintFarm } from '@autoprintfarm/sdk';
const client = new AutoPrintFarm({ apiKey: 'YOUR_KEY' });
// List printers
const printers = await client.printers.list({ status: 'printing' });
// Create job
const job = await client.jobs.create({
file_url: 'https://example.com/model.gcode',
priority: 'high'
});
// Get analytics
const analytics = await client.analytics.fleet({
from: '2025-10-01',
to: '2025-10-06'
});

// Past the spec's snippet: what its results are typed as.
const first: string | undefined = printers.data[0]?.name;
const jobId: string = job.id;
const utilization: number | null = analytics.metrics.utilization_rate;
export { first, jobId, utilization };
