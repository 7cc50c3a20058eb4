import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { AutoPrintFarm, NotFoundError, WebhookVerificationError, signWebhook, verifyWebhook } from '@autoprintfarm/sdk';

import { NO_CLOUD, fx, options, requireRoute } from '../testing/fixtures.mjs';

describe('webhook verification', { skip: NO_CLOUD }, () => {
  test('accepts deliveries signed by the cloud signer', () => {
    for (const v of fx.webhookVectors) {
      // The signer's timestamp is fixed; verify at that moment.
      const event = verifyWebhook(v.body, v.headers, v.secret, { nowS: v.timestamp });
      assert.equal(event.id, v.headers['webhook-id']);
      assert.equal(event.type, 'job.completed');
      assert.deepEqual(event.data, { id: 'job_xyz789', status: 'completed' });
      // Headers object and bytes work the same; our own signer agrees with the cloud's.
      const headers = new Headers(v.headers);
      assert.equal(verifyWebhook(new TextEncoder().encode(v.body), headers, v.secret, { nowS: v.timestamp }).id, event.id);
      assert.equal(signWebhook(v.secret, v.headers['webhook-id'], v.timestamp, v.body), v.headers['webhook-signature']);
    }
  });

  test('refuses anything altered, stale or unsigned', () => {
    const v = fx.webhookVectors[0];
    const at = { nowS: v.timestamp };
    const refuses = (body, headers, secret = v.secret, opts = at) =>
      assert.throws(() => verifyWebhook(body, headers, secret, opts), WebhookVerificationError);
    refuses(v.body.replace('completed', 'failed'), v.headers);
    refuses(v.body, { ...v.headers, 'webhook-id': 'msg_other' });
    refuses(v.body, { ...v.headers, 'webhook-signature': undefined });
    refuses(v.body, v.headers, 'wrong-secret');
    refuses(v.body, v.headers, v.secret, { nowS: v.timestamp + 301 });
    refuses(v.body, { ...v.headers, 'webhook-timestamp': 'soon' });
    refuses(v.body, v.headers, 'whsec_not base64!');
    // A rotated key: any of the listed signatures may match.
    const rotated = { ...v.headers, 'webhook-signature': `v1,AAAA ${v.headers['webhook-signature']}` };
    assert.equal(verifyWebhook(v.body, rotated, v.secret, at).type, 'job.completed');
  });

  test('a real delivery from the cloud verifies', async (t) => {
    if (!requireRoute(t, '/v1/webhooks')) return;
    if (!fx.receiverUrl) return t.skip('no webhook receiver prepared');
    const c = new AutoPrintFarm(options('webhooks'));
    const hook = await c.webhooks.create({ url: fx.receiverUrl, events: ['job.*'], secret: 'webhook_secret_key' });
    assert.match(hook.id, /^whk_/);
    assert.equal(hook.secret, 'webhook_secret_key');
    assert.equal((await c.webhooks.get(hook.id)).secret, undefined);
    const listed = await c.webhooks.list();
    assert.deepEqual(listed.data.map((h) => h.id), [hook.id]);
    assert.equal((await c.webhooks.update(hook.id, { enabled: false })).enabled, false);
    assert.deepEqual((await c.webhooks.list({ enabled: true })).data, []);
    await c.webhooks.update(hook.id, { enabled: true });
    const result = await c.webhooks.test(hook.id);
    assert.equal(result.success, true);
    const deliveries = await (await fetch(`${fx.receiverUrl}?wait=1`)).json();
    const d = deliveries.find((x) => x.headers['webhook-id'] === result.message_id);
    assert.ok(d, 'the test delivery reached the receiver');
    const event = c.webhooks.verify(d.body, d.headers, 'webhook_secret_key');
    assert.equal(event.id, result.message_id);
    assert.throws(() => c.webhooks.verify(d.body, d.headers, 'another secret'), WebhookVerificationError);
    const attempts = [];
    for await (const a of c.webhooks.deliveries(hook.id)) attempts.push(a.message_id);
    assert.deepEqual(attempts, [result.message_id]);
    await c.webhooks.delete(hook.id);
    await assert.rejects(c.webhooks.get(hook.id), NotFoundError);
  });
});
