// Runs the erasure of one user in a process of its own, as the API would, and kills that process (SIGKILL: no
// cleanup, no last write) right after the step named on the command line: the crash in the middle of an erasure.
// Imports the build (dist/), which the tests' global setup makes first.
import { writeSync } from 'node:fs';
import { BlobServiceClient } from '@azure/storage-blob';
import { createDatabase } from '../../dist/shared/db/database.js';
import { eraseUser } from '../../dist/shared/privacy/userErasure.js';
import { fileStoresOf } from '../../dist/shared/storage/fileStores.js';

const [databaseUrl, connectionString, userId, crashAfter] = process.argv.slice(2);
const db = createDatabase({ connectionString: databaseUrl, poolMax: 2 });
const stores = fileStoresOf(BlobServiceClient.fromConnectionString(connectionString));
await eraseUser(
  {
    db,
    stores,
    onStep: (step) => {
      writeSync(1, `step ${step}\n`);
      if (step === crashAfter) process.kill(process.pid, 'SIGKILL');
    },
  },
  userId,
);
writeSync(1, 'finished\n');
await db.destroy();
