// The stock client-side OFREP provider (@openfeature/ofrep-web-provider with
// @openfeature/web-sdk): bulk evaluation, ETag caching (a 304 on an
// unchanged poll), and a toggle observed within its polling interval.
import assert from 'node:assert/strict';
import { OpenFeature, ProviderEvents } from '@openfeature/web-sdk';
import { OFREPWebProvider } from '@openfeature/ofrep-web-provider';

const { SWITCHYARD_URL: url, SWITCHYARD_SDK_KEY: key, ADMIN_TOKEN: admin } = process.env;
const pollInterval = 500;
const statuses = [];
const fetchImplementation = async (request, init) => {
  const response = await fetch(request, init);
  statuses.push(response.status);
  return response;
};
const until = async (what, ok, ms) => {
  const start = Date.now();
  while (!(await ok())) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - start;
};

await OpenFeature.setContext({ targetingKey: 'u1', country: 'SE', plan: 'pro' });
const provider = new OFREPWebProvider({
  baseUrl: url, headers: [['Authorization', `Bearer ${key}`]], pollInterval, cacheMode: 'disabled',
  changeDetection: 'polling', fetchImplementation,
});
await OpenFeature.setProviderAndWait(provider);
const client = OpenFeature.getClient();
const expect = (name, got, want) => {
  for (const [field, value] of Object.entries(want)) assert.deepEqual(got[field], value, `${name}: ${field} ${JSON.stringify(got)}`);
  console.log(`  ok  ${name}`);
};
expect('bool, rule match', client.getBooleanDetails('checkout', false), { value: true, reason: 'TARGETING_MATCH' });
expect('string', client.getStringDetails('banner', 'x'), { value: 'hello', reason: 'STATIC' });
expect('number', client.getNumberDetails('limit', 0), { value: 2.5 });
expect('object, percentage', client.getObjectDetails('theme', {}), { reason: 'SPLIT' });
expect('killed', client.getBooleanDetails('legacy', true), { value: false, reason: 'DISABLED' });
expect('missing flag', client.getBooleanDetails('nope', true), { value: true, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' });

// ETag: an unchanged poll is a 304.
await until('a 304 poll', () => statuses.includes(304), 10 * pollInterval);
console.log(`  ok  ETag caching (statuses so far: ${statuses.join(' ')})`);

// A toggle is observed within the polling interval (plus one request).
let changed = false;
client.addHandler(ProviderEvents.ConfigurationChanged, () => { changed = true; });
const toggle = await fetch(`${url}/api/v1/projects/shop/environments/production/flags/banner/toggle`, {
  method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
  body: JSON.stringify({ on: false, reason: 'ofrep web test' }),
});
assert.equal(toggle.status, 200);
const took = await until('the toggle', () => client.getStringValue('banner', 'x') === 'bye', 10 * pollInterval);
assert.ok(took <= 2 * pollInterval, `the toggle took ${took} ms with a ${pollInterval} ms poll`);
assert.ok(changed, 'ConfigurationChanged was emitted');
console.log(`  ok  toggle observed after ${took} ms (poll interval ${pollInterval} ms)`);

// A context without a targeting key: the server answers 400
// TARGETING_KEY_MISSING and the provider keeps its last good values.
await OpenFeature.setContext({ country: 'SE' }).catch(() => {});
await until('the 400', () => statuses.includes(400), 10 * pollInterval);
expect('no targeting key: 400, last good values kept', client.getBooleanDetails('checkout', false), { value: true });
await OpenFeature.close();
console.log('web provider: all cases passed');
