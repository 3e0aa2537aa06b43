import type { ApiKeyScope } from '../db/schema.js';

/** The local developer that `npm start` seeds, and its one API key (whose secret comes from the environment). */
export const LOCAL_USER_ID = '00000000-0000-4000-8000-000000000001';
export const LOCAL_API_KEY_ID = '00000000-0000-4000-8000-000000000002';

export const LOCAL_USER_DISPLAY_NAME = 'Local Developer';
export const LOCAL_USER_EMAIL = 'dev@localhost';

export const LOCAL_API_KEY_NAME = 'local development key';
/** Every scope, so that the local key can exercise the whole API, the catalog writes and the pipeline hand-off. */
export const LOCAL_API_KEY_SCOPES: ApiKeyScope[] = ['api', 'catalog:write', 'pipeline'];
