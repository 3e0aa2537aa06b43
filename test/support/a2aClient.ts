import { ClientFactory, ClientFactoryOptions, type CallInterceptor, type Client } from '@a2a-js/sdk/client';
import { inject } from 'vitest';
import type { TestUser } from './users.js';

function withApiKey(key: string): CallInterceptor {
  return {
    async before(args) {
      args.options = { ...args.options, serviceParameters: { ...args.options?.serviceParameters, 'X-API-Key': key } };
    },
    async after() {},
  };
}

/** The A2A SDK's own client for the test API, sending the user's key with every call. */
export async function a2aClientFor(user: TestUser): Promise<Client> {
  const factory = new ClientFactory(
    ClientFactoryOptions.createFrom(ClientFactoryOptions.default, { clientConfig: { interceptors: [withApiKey(user.key)] } }),
  );
  return factory.createFromUrl(inject('apiUrl'));
}
