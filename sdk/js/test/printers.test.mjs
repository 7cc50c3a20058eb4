import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  AutoPrintFarm,
  InvalidRequestError,
  NotFoundError,
  Page,
  PermissionDeniedError,
  PrinterBusyError,
  PrinterOfflineError,
} from '@autoprintfarm/sdk';

import { NO_CLOUD, fx, options } from '../testing/fixtures.mjs';

describe('printers', { skip: NO_CLOUD }, () => {
  const client = () => new AutoPrintFarm(options('printers'));
  const octoprint = (c, name, extra = {}, opts = undefined) =>
    c.printers.create({ name, connection_url: 'http://192.168.1.105', api_key: 'OctoPrint-API-Key', ...extra }, opts);

  test('create, get, update, delete', async () => {
    const c = client();
    const made = await c.printers.create({
      name: 'Prusa-B-05',
      connection_url: 'http://192.168.1.105',
      api_key: 'OctoPrint-API-Key',
      model: 'Prusa i3 MK3S+',
      group: 'production',
      tags: ['enclosed'],
    });
    assert.match(made.id, /^prt_/);
    assert.equal(made.status, 'offline');
    assert.deepEqual(made.tags, ['enclosed']);
    assert.deepEqual(await c.printers.get(made.id), made);
    const changed = await c.printers.update(made.id, { name: 'Prusa-B-06', group: null });
    assert.equal(changed.name, 'Prusa-B-06');
    assert.equal(changed.group, null);
    assert.equal(changed.model, 'Prusa i3 MK3S+');
    await c.printers.delete(made.id);
    await assert.rejects(c.printers.get(made.id), (err) => {
      assert.ok(err instanceof NotFoundError);
      assert.equal(err.code, 'resource_not_found');
      assert.equal(err.status, 404);
      assert.match(err.requestId, /^req_/);
      return true;
    });
  });

  test('lists are pages, async-iterable over every page, fetched lazily', async () => {
    const c = client();
    const ids = [];
    for (let i = 0; i < 5; i += 1) ids.push((await octoprint(c, `page-${i}`, { group: 'paged' })).id);

    const first = await c.printers.list({ group: 'paged', per_page: 2, sort: 'name' });
    assert.ok(first instanceof Page);
    assert.deepEqual(first.data.map((p) => p.id), ids.slice(0, 2));
    assert.deepEqual(first.pagination, { page: 1, per_page: 2, total: 5, total_pages: 3 });
    assert.equal(first.hasNextPage(), true);

    const walked = [];
    for await (const p of first) walked.push(p.id);
    assert.deepEqual(walked, ids);

    // Iterating the un-awaited list() works too.
    const again = [];
    for await (const p of c.printers.list({ group: 'paged', per_page: 2, sort: '-name' })) again.push(p.id);
    assert.deepEqual(again, [...ids].reverse());

    const sizes = [];
    for await (const page of first.iterPages()) sizes.push(page.data.length);
    assert.deepEqual(sizes, [2, 2, 1]);
    const last = await c.printers.list({ group: 'paged', per_page: 2, page: 3 });
    assert.equal(await last.nextPage(), null);

    // Lazy: breaking out after the first page's items fetches nothing more.
    let calls = 0;
    const counting = new AutoPrintFarm({
      ...options('printers'),
      fetch: (...args) => {
        calls += 1;
        return fetch(...args);
      },
    });
    const page = await counting.printers.list({ group: 'paged', per_page: 2 });
    let seen = 0;
    for await (const p of page) {
      assert.ok(p.id);
      seen += 1;
      if (seen === 2) break; // the last item of page 1
    }
    assert.equal(calls, 1);
    seen = 0;
    for await (const p of page) {
      assert.ok(p.id);
      seen += 1;
      if (seen === 3) break; // the first item of page 2
    }
    assert.equal(calls, 2);
  });

  test('filters by status, group and tag; sparse fields', async () => {
    const c = client();
    const printing = await octoprint(c, 'filter-a', { group: 'f-lab', tags: ['multi-material'] });
    await octoprint(c, 'filter-b', { group: 'f-lab' });
    const byTag = await c.printers.list({ group: 'f-lab', tag: 'multi-material' });
    assert.deepEqual(byTag.data.map((p) => p.id), [printing.id]);
    const sparse = await c.printers.list({ group: 'f-lab', fields: ['id', 'name'], sort: 'name' });
    assert.deepEqual(sparse.data.map((p) => Object.keys(p).sort()), [['id', 'name'], ['id', 'name']]);
    const busy = await new AutoPrintFarm(options('busy')).printers.list({ status: 'printing' });
    assert.deepEqual(busy.data.map((p) => p.id), [fx.busyPrinter]);
  });

  test('actions, printer_busy and printer_offline', async () => {
    const c = new AutoPrintFarm(options('busy'));
    const command = await c.printers.pause(fx.busyPrinter);
    assert.equal(command.action, 'pause');
    assert.equal(command.status, 'pending');
    assert.equal((await c.printers.cancel(fx.busyPrinter)).action, 'cancel');
    assert.equal((await c.printers.action(fx.busyPrinter, 'cancel')).printer_id, fx.busyPrinter);
    await assert.rejects(c.printers.home(fx.busyPrinter), (err) => err instanceof PrinterBusyError && err.code === 'printer_busy');
    await assert.rejects(c.printers.delete(fx.busyPrinter), PrinterBusyError);
    await assert.rejects(c.printers.resume(fx.offlinePrinter), (err) => {
      assert.ok(err instanceof PrinterOfflineError);
      assert.equal(err.status, 409);
      assert.equal(err.code, 'printer_offline');
      return true;
    });
    await assert.rejects(c.printers.cooldown(fx.offlinePrinter), PrinterOfflineError);
  });

  test('gcode: admin keys, idle printers, lines validated', async () => {
    const c = new AutoPrintFarm(options('busy'));
    const sent = await c.printers.gcode(fx.idlePrinter, ['M105', 'G28 X']);
    // This cloud runs no bridge: recorded for the agent, no reply yet.
    assert.equal(sent.printer_id, fx.idlePrinter);
    assert.deepEqual(sent.lines, ['M105', 'G28 X']);
    assert.equal(sent.status, 'pending');
    assert.deepEqual(sent.replies, []);
    assert.match(sent.id, /^cmd_/);
    await assert.rejects(c.printers.gcode(fx.busyPrinter, ['M105']), PrinterBusyError);
    await assert.rejects(c.printers.gcode(fx.offlinePrinter, ['M105']), PrinterOfflineError);
    await assert.rejects(c.printers.gcode(fx.idlePrinter, ['   ']), (err) => err instanceof InvalidRequestError && err.status === 400);
    assert.throws(() => c.printers.gcode(fx.idlePrinter, 'M105'), TypeError);
    const viewer = new AutoPrintFarm(options('readonly'));
    await assert.rejects(viewer.printers.gcode(fx.idlePrinter, ['M105']), (err) => {
      assert.ok(err instanceof PermissionDeniedError);
      assert.equal(err.code, 'insufficient_permissions');
      return true;
    });
  });

  test('the client reads the rate-limit headers', async () => {
    const c = client();
    assert.equal(c.rateLimit, null);
    await c.printers.list();
    const first = c.rateLimit;
    assert.equal(first.limit, 100000);
    await c.printers.list();
    assert.equal(c.rateLimit.remaining, first.remaining - 1);
  });

  test('invalid requests name the parameter', async () => {
    const c = client();
    await assert.rejects(c.printers.create({ name: 'x', connection_url: 'http://10.0.0.9' }), (err) => {
      assert.ok(err instanceof InvalidRequestError);
      assert.equal(err.param, 'api_key');
      assert.equal(err.status, 400);
      return true;
    });
    await assert.rejects(c.printers.list({ per_page: 101 }), (err) => err.param === 'per_page');
  });

  test('an idempotencyKey makes a repeated create run once', async () => {
    const c = client();
    const key = `js-${Date.now()}-${Math.random()}`;
    const first = await octoprint(c, 'js-once', {}, { idempotencyKey: key });
    const again = await octoprint(c, 'js-once', {}, { idempotencyKey: key });
    assert.deepEqual(again, first);
    const named = await c.printers.list({ per_page: 100 });
    assert.equal(named.data.filter((p) => p.name === 'js-once').length, 1);
    await assert.rejects(octoprint(c, 'js-other', {}, { idempotencyKey: key }), (err) => {
      assert.ok(err instanceof InvalidRequestError);
      assert.equal(err.status, 422);
      assert.equal(err.param, 'Idempotency-Key');
      return true;
    });
    await c.printers.delete(first.id);
  });
});
