// `baseUrl` names the API's root with or without a trailing `/v1` and slash: the demo prints
// `API URL: http://127.0.0.1:8000/v1`, and that URL pasted into the client must work. And the
// rate-limit headers the cloud sends are each read.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { AutoPrintFarm } from '@autoprintfarm/sdk';

import { NO_CLOUD, fx } from '../testing/fixtures.mjs';

const ROOT = 'http://127.0.0.1:9';
const EMPTY_PAGE = { data: [], pagination: { page: 1, per_page: 20, total: 0, total_pages: 0 } };

function recording(seen, headers = {}) {
  return async (url) => {
    seen.push(String(url));
    return Response.json(EMPTY_PAGE, { headers });
  };
}

describe('baseUrl', () => {
  for (const spelling of [ROOT, `${ROOT}/`, `${ROOT}/v1`, `${ROOT}/v1/`, `${ROOT}//v1//`]) {
    test(`${spelling} calls ${ROOT}/v1/printers`, async () => {
      const seen = [];
      const c = new AutoPrintFarm({ apiKey: 'apf_k', baseUrl: spelling, fetch: recording(seen) });
      assert.equal(c.baseUrl, ROOT);
      await c.printers.list();
      assert.deepEqual(seen, [`${ROOT}/v1/printers`]);
    });
  }

  test('only a last v1 path segment is dropped, never the host', () => {
    const root = (baseUrl) => new AutoPrintFarm({ apiKey: 'apf_k', baseUrl }).baseUrl;
    assert.equal(root('https://farm.example/apf/v1/'), 'https://farm.example/apf');
    assert.equal(root('https://farm.example/v10'), 'https://farm.example/v10');
    assert.equal(root('http://v1'), 'http://v1');
    assert.equal(root('http://v1:8000/v1'), 'http://v1:8000');
  });

  test('APF_BASE_URL is read by the same rule', () => {
    const saved = process.env.APF_BASE_URL;
    process.env.APF_BASE_URL = `${ROOT}/v1`;
    try {
      assert.equal(new AutoPrintFarm({ apiKey: 'apf_k' }).baseUrl, ROOT);
    } finally {
      if (saved === undefined) delete process.env.APF_BASE_URL;
      else process.env.APF_BASE_URL = saved;
    }
  });
});

describe('rate-limit headers', () => {
  test('RateLimit-Limit, -Remaining and -Reset (what the cloud sends besides draft-11) are read', async () => {
    const headers = { 'RateLimit-Limit': '600', 'RateLimit-Remaining': '599', 'RateLimit-Reset': '42' };
    const c = new AutoPrintFarm({ apiKey: 'apf_k', baseUrl: ROOT, fetch: recording([], headers) });
    await c.printers.list();
    assert.deepEqual(c.rateLimit, { limit: 600, remaining: 599, resetS: 42, windowS: null });
  });
});

describe('baseUrl against the cloud', { skip: NO_CLOUD }, () => {
  test('the URL the demo prints (ending in /v1) reaches the API', async () => {
    const c = new AutoPrintFarm({ apiKey: fx.keys.baseUrl, baseUrl: `${fx.baseUrl}/v1` });
    assert.equal(c.baseUrl, fx.baseUrl);
    assert.equal((await c.organization.get()).name, 'js-baseUrl');
  });
});
