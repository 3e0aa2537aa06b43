// azd preprovision hook (azure.yaml): what the first `azd provision` needs and azd cannot make up by itself.
// Hooks see the azd environment (.azure/<env>/.env) as environment variables; `azd env set` writes to it.
//
// - API_KEY_HMAC_SECRET: made once, 48 random bytes in base64url (64 characters), kept in the azd environment;
//   provisioning writes it to Key Vault. API keys are stored only as HMACs under it: replacing it invalidates them.
// - POSTGRES_CLIENT_IP: this machine's public address, let through the PostgreSQL firewall so that the postdeploy
//   hook can run the migrations from here. Looked up on every provision (addresses change); kept if the lookup fails.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

function setAzdEnv(name, value) {
  execFileSync('azd', ['env', 'set', name, value], { stdio: ['ignore', 'ignore', 'inherit'] });
}

if (!process.env.API_KEY_HMAC_SECRET) {
  setAzdEnv('API_KEY_HMAC_SECRET', randomBytes(48).toString('base64url'));
  console.log('API_KEY_HMAC_SECRET: generated, kept in the azd environment.');
}

try {
  const response = await fetch('https://api.ipify.org', { signal: AbortSignal.timeout(10_000) });
  const address = (await response.text()).trim();
  if (!response.ok || !/^\d{1,3}(\.\d{1,3}){3}$/.test(address)) throw new Error(`unexpected answer (${response.status})`);
  if (address !== process.env.POSTGRES_CLIENT_IP) setAzdEnv('POSTGRES_CLIENT_IP', address);
  console.log(`POSTGRES_CLIENT_IP: ${address}, allowed through the PostgreSQL firewall for the migrations.`);
} catch (error) {
  console.warn(
    `Could not find this machine's public IP address (${error.message}); ` +
      `POSTGRES_CLIENT_IP stays ${process.env.POSTGRES_CLIENT_IP || 'unset'} (azd env set POSTGRES_CLIENT_IP <address>).`,
  );
}
