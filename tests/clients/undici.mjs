// Fetch a URL through a proxy with undici's ProxyAgent, as
// internal/clienttest asks. Usage:
//
//   node undici.mjs MODE PROXY USER PASSWORD CAFILE URL
//
// MODE "token" gives ProxyAgent a ready-made Basic token with its default
// proxyTunnel (true: every request, http:// ones too, goes through a
// CONNECT tunnel); "token-no-tunnel" sets proxyTunnel: false, so http://
// requests are sent to the proxy in absolute-form. CAFILE is the origin
// certificate to trust, or "-". Prints one JSON line: the final status and
// body, or the error.

import { readFileSync } from 'node:fs';
import { ProxyAgent, request } from 'undici';

const [mode, proxy, user, password, cafile, url] = process.argv.slice(2);
const options = {
  uri: proxy,
  token: 'Basic ' + Buffer.from(`${user}:${password}`, 'utf8').toString('base64'),
};
if (mode === 'token-no-tunnel') {
  options.proxyTunnel = false;
} else if (mode !== 'token') {
  throw new Error(`unknown mode ${mode}`);
}
if (cafile !== '-') {
  options.requestTls = { ca: readFileSync(cafile, 'utf8') };
}

const agent = new ProxyAgent(options);
try {
  const res = await request(url, { dispatcher: agent, headersTimeout: 20000, bodyTimeout: 20000 });
  console.log(JSON.stringify({ status: res.statusCode, body: await res.body.text() }));
} catch (err) {
  console.log(JSON.stringify({ error: `${err.name}: ${err.message}` }));
} finally {
  await agent.close();
}
