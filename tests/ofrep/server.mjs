// The stock server-side OFREP provider (@openfeature/ofrep-provider with
// @openfeature/server-sdk) against a running Switchyard seeded by run.sh.
// Exits non-zero, naming the case, on any mismatch.
import assert from 'node:assert/strict';
import { OpenFeature } from '@openfeature/server-sdk';
import { OFREPProvider } from '@openfeature/ofrep-provider';

const { SWITCHYARD_URL: url, SWITCHYARD_SDK_KEY: key, REVOKED_SDK_KEY: revoked } = process.env;

async function clientWith(secret, domain, header = 'Authorization') {
  const value = header === 'Authorization' ? `Bearer ${secret}` : secret;
  await OpenFeature.setProviderAndWait(domain, new OFREPProvider({ baseUrl: url, headers: [[header, value]] }));
  return OpenFeature.getClient(domain);
}

const client = await clientWith(key, 'main');
const user = { targetingKey: 'u1', country: 'NO', plan: 'pro' };
const check = async (name, got, want) => {
  for (const [field, value] of Object.entries(want)) {
    assert.deepEqual(got[field], value, `${name}: ${field} ${JSON.stringify(got)}`);
  }
  console.log(`  ok  ${name}`);
};

await check('bool, rule miss', await client.getBooleanDetails('checkout', true, user), { value: false, variant: 'off', reason: 'STATIC' });
await check('bool, rule match', await client.getBooleanDetails('checkout', false, { ...user, country: 'SE' }), { value: true, variant: 'on', reason: 'TARGETING_MATCH' });
await check('string, target match', await client.getStringDetails('banner', 'x', { ...user, targetingKey: 'vip' }), { value: 'bye', reason: 'TARGETING_MATCH' });
await check('string, fallthrough', await client.getStringDetails('banner', 'x', user), { value: 'hello', reason: 'STATIC' });
await check('number', await client.getNumberDetails('limit', 0, user), { value: 2.5, variant: 'high' });
const seen = new Set();
for (let i = 0; i < 40; i++) {
  const d = await client.getObjectDetails('theme', {}, { ...user, targetingKey: `user-${i}` });
  assert.equal(d.reason, 'SPLIT', JSON.stringify(d));
  assert.equal(typeof d.value.bg, 'string', JSON.stringify(d));
  seen.add(d.variant);
}
assert.equal(seen.size, 2, `object, percentage: both arms served (${[...seen]})`);
console.log('  ok  object, percentage rollout (SPLIT, both arms)');
await check('killed', await client.getBooleanDetails('legacy', true, { ...user, country: 'SE' }), { value: false, variant: 'off', reason: 'DISABLED' });
assert.equal((await client.getBooleanDetails('legacy', true, user)).flagMetadata.reason, 'KILLED');
await check('missing flag', await client.getBooleanDetails('nope', true, user), { value: true, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' });
await check('no targeting key', await client.getBooleanDetails('checkout', true, { country: 'SE' }), { value: true, reason: 'ERROR', errorCode: 'TARGETING_KEY_MISSING' });
await check('bad context', await client.getBooleanDetails('checkout', true, { ...user, address: { city: 'Oslo' } }), { value: true, reason: 'ERROR', errorCode: 'INVALID_CONTEXT' });
await check('type mismatch', await client.getStringDetails('checkout', 'x', user), { value: 'x', reason: 'ERROR', errorCode: 'TYPE_MISMATCH' });
const apiKey = await clientWith(key, 'api-key', 'X-API-Key');
await check('X-API-Key header', await apiKey.getBooleanDetails('checkout', false, { ...user, country: 'SE' }), { value: true });
const gone = await clientWith(revoked, 'revoked');
await check('revoked key', await gone.getBooleanDetails('checkout', true, user), { value: true, reason: 'ERROR', errorCode: 'GENERAL' });
await OpenFeature.close();
console.log('server provider: all cases passed');
