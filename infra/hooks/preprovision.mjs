// azd preprovision hook (azure.yaml): what the first `azd provision` needs and azd cannot make up by itself.
// Hooks see the azd environment (.azure/<env>/.env) as environment variables; `azd env set` writes to it.
//
// - API_KEY_HMAC_SECRET: made once, 48 random bytes in base64url (64 characters), kept in the azd environment;
//   provisioning writes it to Key Vault. API keys are stored only as HMACs under it: replacing it invalidates them.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

if (!process.env.API_KEY_HMAC_SECRET) {
  execFileSync('azd', ['env', 'set', 'API_KEY_HMAC_SECRET', randomBytes(48).toString('base64url')], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  console.log('API_KEY_HMAC_SECRET: generated, kept in the azd environment.');
}
