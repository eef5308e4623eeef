import { OpenFeature } from '@openfeature/server-sdk';
import { OFREPProvider } from '@openfeature/ofrep-provider';

const provider = new OFREPProvider({
  baseUrl: process.env.SWITCHYARD_URL, // e.g. http://localhost:8080
  headers: [['Authorization', `Bearer ${process.env.SWITCHYARD_SDK_KEY}`]],
});
await OpenFeature.setProviderAndWait(provider);
const client = OpenFeature.getClient();

const context = { targetingKey: 'user-123', country: 'SE', plan: 'pro' };
const enabled = await client.getBooleanValue('new-checkout', false, context);
const details = await client.getStringDetails('banner', 'hi', context); // value, variant, reason
console.log(enabled, details.value, details.reason);
