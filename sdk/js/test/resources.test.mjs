import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { AutoPrintFarm, InvalidRequestError, NotFoundError } from '@autoprintfarm/sdk';

import { NO_CLOUD, fx, options, requireRoute } from '../testing/fixtures.mjs';

describe('materials, organization, users, agents, analytics', { skip: NO_CLOUD }, () => {
  const client = () => new AutoPrintFarm(options('resources'));

  test('materials', async (t) => {
    if (!requireRoute(t, '/v1/materials')) return;
    const c = client();
    const spool = await c.materials.create({
      type: 'PLA',
      brand: 'Hatchbox',
      color: 'Black',
      spool_weight: 1000,
      remaining_weight: 650,
      cost_per_kg: 20,
      reorder_threshold: 100,
    });
    assert.match(spool.id, /^mat_/);
    assert.equal(spool.remaining_weight, 650);
    assert.equal(spool.status, 'active');
    assert.deepEqual(await c.materials.get(spool.id), spool);
    assert.equal((await c.materials.update(spool.id, { remaining_weight: 50 })).remaining_weight, 50);
    const listed = [];
    for await (const m of c.materials.list({ type: 'PLA', per_page: 1 })) listed.push(m.id);
    assert.deepEqual(listed, [spool.id]);
    await c.materials.delete(spool.id);
    await assert.rejects(c.materials.get(spool.id), NotFoundError);
  });

  test('organization', async (t) => {
    if (!requireRoute(t, '/v1/organization')) return;
    const c = client();
    const org = await c.organization.get();
    assert.match(org.id, /^org_/);
    assert.equal((await c.organization.update({ name: 'Renamed farm' })).name, 'Renamed farm');
    assert.equal(org.home_assistant_enabled, false);
    const on = await c.organization.update({ home_assistant_enabled: true });
    assert.equal(on.home_assistant_enabled, true);
    assert.equal(on.name, 'Renamed farm');
    assert.equal((await c.organization.get()).home_assistant_enabled, true);
  });

  test('users and invitations', async (t) => {
    if (!requireRoute(t, '/v1/users')) return;
    const c = client();
    const users = await c.users.list();
    assert.equal(users.pagination.total, 1);
    const owner = users.data[0];
    assert.equal(owner.role, 'owner');
    assert.deepEqual(await c.users.get(owner.id), owner);
    const invitation = await c.users.invite({ email: 'new@farm.test', role: 'member' });
    assert.equal(invitation.email, 'new@farm.test');
    assert.ok(invitation.token);
    await assert.rejects(c.users.invite({ email: 'not-an-email' }), InvalidRequestError);
    const pending = await c.users.invitations();
    assert.deepEqual(pending.data.map((i) => [i.id, i.email, i.token]), [[invitation.id, 'new@farm.test', undefined]]);
    assert.equal(pending.data[0].invited_by, owner.id);
    await c.users.revokeInvitation(invitation.id);
    assert.equal((await c.users.invitations()).pagination.total, 0);
    await assert.rejects(c.users.revokeInvitation(invitation.id), NotFoundError);
  });

  test('agents', async (t) => {
    if (!requireRoute(t, '/v1/agents')) return;
    const c = client();
    const registered = await c.agents.create({ name: 'pi-shelf-1' });
    assert.match(registered.agent.id, /^agt_/);
    assert.ok(registered.mqtt.password);
    const fetched = await c.agents.get(registered.agent.id);
    assert.equal(fetched.name, 'pi-shelf-1');
    const listed = [];
    for await (const a of c.agents.list()) listed.push(a.id);
    assert.ok(listed.includes(registered.agent.id));
    const rotated = await c.agents.rotateCredentials(registered.agent.id);
    assert.notEqual(rotated.mqtt.password, registered.mqtt.password);
    assert.ok(rotated.config_toml.includes(rotated.mqtt.password));
    const revoked = await c.agents.revoke(registered.agent.id);
    assert.equal(revoked.revoked, true);
    const other = await c.agents.create({ name: 'pi-shelf-2' });
    await c.agents.delete(other.agent.id);
    assert.equal((await c.agents.get(other.agent.id)).revoked, true);
  });

  test('mqtt credentials', async (t) => {
    if (!requireRoute(t, '/v1/mqtt-credentials')) return;
    const c = client();
    const created = await c.mqttCredentials.create({ name: 'shop wall' });
    assert.match(created.id, /^mqc_/);
    assert.ok(created.password && created.url);
    assert.equal(created.topics.length, 4);
    const fetched = await c.mqttCredentials.get(created.id);
    assert.equal(fetched.password, undefined);
    await c.mqttCredentials.delete(created.id);
    const revoked = [];
    for await (const m of c.mqttCredentials.list({ revoked: true })) revoked.push(m.id);
    assert.ok(revoked.includes(created.id));
  });

  test('analytics', async (t) => {
    if (!requireRoute(t, '/v1/analytics/fleet')) return;
    const c = client();
    const fleet = await c.analytics.fleet({ from: '2025-10-01', to: '2025-10-06' });
    assert.ok(fleet.period.from.startsWith('2025-10-01'));
    assert.equal(typeof fleet.metrics.total_printers, 'number');
    assert.ok(await c.analytics.jobs({ from: '2025-10-01', to: '2025-10-06' }));
    assert.ok(await c.analytics.materials({ from: '2025-10-01', to: '2025-10-06' }));
    assert.ok(await c.analytics.printer(fx.offlinePrinter, { from: '2025-10-01' }).catch((e) => e));
  });
});
