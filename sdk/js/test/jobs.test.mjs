import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { describe, test } from 'node:test';

import { AutoPrintFarm, FileInvalidError, InvalidRequestError, NotFoundError } from '@autoprintfarm/sdk';

import { NO_CLOUD, fx, options, requireRoute } from '../testing/fixtures.mjs';

describe('jobs', { skip: NO_CLOUD }, () => {
  const client = () => new AutoPrintFarm(options('jobs'));

  test('create from file_url, get, update, delete', async (t) => {
    if (!requireRoute(t, '/v1/jobs')) return;
    const c = client();
    const job = await c.jobs.create({
      file_url: fx.fileUrl,
      name: 'custom-part-v2',
      priority: 'high',
      material: 'PLA',
      copies: 1,
      tags: ['production', 'order-456'],
    });
    assert.match(job.id, /^job_/);
    assert.equal(job.status, 'queued');
    assert.equal(job.priority, 'high');
    assert.deepEqual(job.tags, ['production', 'order-456']);
    assert.deepEqual(await c.jobs.get(job.id), job);
    const changed = await c.jobs.update(job.id, { priority: 'urgent' });
    assert.equal(changed.priority, 'urgent');
    assert.equal(await c.jobs.delete(job.id), null);
    await assert.rejects(c.jobs.get(job.id), NotFoundError);
  });

  test('upload a path, a Blob and bytes, with progress', async (t) => {
    if (!requireRoute(t, '/v1/jobs')) return;
    const c = client();
    const size = (await stat(fx.gcodePath)).size;
    const seen = [];
    const job = await c.jobs.create({
      file: fx.gcodePath,
      name: 'custom-part',
      priority: 'high',
      onProgress: (sent, total) => seen.push([sent, total]),
    });
    assert.equal(job.name, 'custom-part');
    assert.ok(seen.length >= 2, `progress reported ${seen.length} times`);
    assert.deepEqual(seen.at(-1), [size, size]);
    assert.deepEqual(seen.map(([s]) => s), [...seen.map(([s]) => s)].sort((a, b) => a - b));

    const bytes = await readFile(fx.gcodePath);
    const fromBlob = await c.jobs.create({ file: new Blob([bytes]), filename: 'blob.gcode', tags: ['a', 'b'] });
    assert.deepEqual(fromBlob.tags, ['a', 'b']);
    const fromBytes = await c.jobs.create({ file: new Uint8Array(bytes), copies: 2 });
    assert.equal(fromBytes.copies, 2);
  });

  test('analyze a file before queueing it: nothing is stored', async (t) => {
    if (!requireRoute(t, '/v1/jobs')) return;
    const c = new AutoPrintFarm(options('jobs'));
    const before = (await c.jobs.list()).pagination.total;
    const found = await c.jobs.analyze({ file: fx.gcodePath });
    assert.equal(found.filename, fx.gcodePath.split('/').at(-1));
    assert.ok(found.estimated_duration > 0);
    assert.equal(found.material.type, 'PLA');
    assert.ok(found.material.estimated_usage > 0);
    assert.ok(Array.isArray(found.warnings));
    const bytes = await readFile(fx.gcodePath);
    const named = await c.jobs.analyze({ file: new Blob([bytes]), filename: 'blob.gcode' });
    assert.equal(named.filename, 'blob.gcode');
    assert.equal((await c.jobs.list()).pagination.total, before);
    const text = new TextEncoder().encode('milk\neggs\n');
    await assert.rejects(c.jobs.analyze({ file: text, filename: 'notes.gcode' }), (err) => {
      assert.ok(err instanceof FileInvalidError);
      assert.match(err.message, /motion/);
      return true;
    });
  });

  test('a file that is not G-code is FileInvalidError', async (t) => {
    if (!requireRoute(t, '/v1/jobs')) return;
    const junk = new Uint8Array(16384).map((_, i) => i % 256);
    await assert.rejects(client().jobs.create({ file: junk, filename: 'photo.gcode' }), (err) => {
      assert.ok(err instanceof FileInvalidError);
      assert.equal(err.code, 'file_invalid');
      return true;
    });
  });

  test('deleting a job on a printer cancels it and returns it', async (t) => {
    if (!requireRoute(t, '/v1/jobs')) return;
    const c = new AutoPrintFarm(options('busy'));
    const cancelled = await c.jobs.delete(fx.printingJob);
    assert.equal(cancelled.id, fx.printingJob);
    assert.equal(cancelled.status, 'cancelled');
    assert.equal((await c.jobs.get(fx.printingJob)).status, 'cancelled');
  });

  test('pause, resume and cancel a waiting job; its colour', async (t) => {
    if (!requireRoute(t, '/v1/jobs')) return;
    const c = client();
    const job = await c.jobs.create({ file_url: fx.fileUrl, material: 'PLA', material_color: 'Black', copies: 2 });
    assert.deepEqual([job.material.type, job.material.color], ['PLA', 'Black']);
    assert.equal((await c.jobs.pause(job.id)).status, 'paused');
    assert.equal((await c.jobs.resume(job.id)).status, 'queued');
    const cancelled = await c.jobs.cancel(job.id);
    assert.deepEqual([cancelled.status, cancelled.copies_completed], ['cancelled', 0]);
    await assert.rejects(c.jobs.resume(job.id), (err) => {
      assert.ok(err instanceof InvalidRequestError);
      assert.deepEqual([err.status, err.param], [409, 'action']);
      return true;
    });
  });

  test('exactly one of file_url and file', async () => {
    await assert.rejects(client().jobs.create({}), /exactly one/);
    await assert.rejects(client().jobs.create({ file_url: fx.fileUrl, file: new Uint8Array(1) }), /exactly one/);
  });

  test('list filters and walks pages', async (t) => {
    if (!requireRoute(t, '/v1/jobs')) return;
    const c = new AutoPrintFarm(options('jobsList'));
    const first = await c.jobs.create({ file: fx.gcodePath, priority: 'low' });
    const ids = [first.id];
    for (let i = 0; i < 3; i += 1) ids.push((await c.jobs.create({ file_url: first.file_url, priority: 'high' })).id);
    const walked = [];
    for await (const j of c.jobs.list({ per_page: 2, sort: 'created_at' })) walked.push(j.id);
    assert.deepEqual(walked, ids);
    assert.deepEqual((await c.jobs.list({ priority: 'low' })).data.map((j) => j.id), [first.id]);
    assert.equal((await c.jobs.list({ from: new Date('2000-01-01'), to: '2999-01-01T00:00:00Z' })).pagination.total, 4);
  });
});
