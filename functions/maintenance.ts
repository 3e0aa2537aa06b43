import { app } from '@azure/functions';
import { purgeRateLimitWindows } from '../shared/auth/credentialRepository.js';
import { getDb } from '../shared/db/index.js';

// Rate-limit windows last a minute; rows older than ten are history nobody reads.
app.timer('purgeRateLimitWindows', {
  schedule: '0 */10 * * * *',
  handler: async (_timer, context) => {
    const purged = await purgeRateLimitWindows(getDb(), 10);
    context.log(`Purged ${purged} rate-limit windows.`);
  },
});
