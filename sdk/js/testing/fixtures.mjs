// What the pytest driver (tests/sdk/test_js_sdk.py) prepared on the real cloud process:
// organizations, keys, printers in states only an agent can cause, a G-code file and a
// loopback URL serving it. Run the suite through that driver, or `scripts/test`.
import { skip } from 'node:test';

const raw = process.env.APF_SDK_TEST_FIXTURES;

/** @type {Record<string, any> | null} */
export const fx = raw ? JSON.parse(raw) : null;

export const NO_CLOUD = fx
  ? false
  : 'no cloud to test against: run through tests/sdk/test_js_sdk.py (pytest) or scripts/test';

export function options(key) {
  return { apiKey: fx.keys[key], baseUrl: fx.baseUrl };
}

/** Skip the calling test unless the cloud serves `path` (webhooks, analytics land later). */
export function requireRoute(t, path) {
  if (!fx.routes.includes(path)) {
    t.skip(`the cloud does not serve ${path} yet (its issue is still open)`);
    return false;
  }
  return true;
}

export { skip };
