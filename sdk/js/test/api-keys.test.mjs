import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { AuthenticationError, AutoPrintFarm, InvalidRequestError, PermissionDeniedError } from '@autoprintfarm/sdk';

import { NO_CLOUD, fx, options } from '../testing/fixtures.mjs';

describe('api keys', { skip: NO_CLOUD }, () => {
  test('a key made, used, listed and revoked', async () => {
    const c = new AutoPrintFarm(options('apiKeys'));
    const made = await c.apiKeys.create({ scopes: ['printers:read'], name: 'wall display' });
    assert.match(made.id, /^key_/);
    assert.ok(made.key && made.key.startsWith(made.prefix));
    assert.deepEqual(made.scopes, ['printers:read']);
    const reader = new AutoPrintFarm({ apiKey: made.key, baseUrl: fx.baseUrl, maxRetries: 0 });
    assert.ok(await reader.printers.list());
    await assert.rejects(reader.apiKeys.list(), PermissionDeniedError);
    const listed = [];
    for await (const k of c.apiKeys.list()) listed.push(k);
    assert.equal(listed.length, 2);
    const mine = listed.find((k) => k.id === made.id);
    assert.equal(mine.key, undefined); // shown once, at creation
    assert.equal(mine.name, 'wall display');
    await c.apiKeys.delete(made.id);
    await assert.rejects(reader.printers.list(), AuthenticationError);
    const revoked = [];
    for await (const k of c.apiKeys.list({ revoked: true })) revoked.push(k.id);
    assert.deepEqual(revoked, [made.id]);
    // The organization's last admin key stays.
    const first = listed.find((k) => k.id !== made.id);
    await assert.rejects(c.apiKeys.delete(first.id), (e) => e instanceof InvalidRequestError && e.status === 409);
  });
});
