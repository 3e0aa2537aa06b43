import { app } from '@azure/functions';
import { ApiError } from '../shared/errors/apiError.js';
import { isPreflight, preflightResponse } from '../shared/http/cors.js';
import { jsonResponse } from '../shared/http/responses.js';
import { appDeps } from '../shared/runtime/appDeps.js';

// Every path no other function claims: the host gives a catch-all route the lowest precedence, so this only
// answers what nothing else matches, in the contract's error shape rather than the host's empty 404. No other route
// takes OPTIONS, so every CORS preflight ends here too (shared/http/cors.ts).
app.http('notFound', {
  methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'],
  route: '{*path}',
  authLevel: 'anonymous',
  handler: async (request) => {
    if (isPreflight(request)) return preflightResponse(request, appDeps().config.cors);
    const error = ApiError.notFound(`No route for ${request.method} ${new URL(request.url).pathname}.`);
    return jsonResponse(error.status, error.toBody());
  },
});
