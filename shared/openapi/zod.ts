import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';

// `.openapi(...)` on schemas needs this once, before any schema is declared; every schema module imports `z`
// from here so that the order never matters.
extendZodWithOpenApi(z);

export { z };
