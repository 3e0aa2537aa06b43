import { createServer, type Server } from 'node:http';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import { inject } from 'vitest';

/**
 * A stand-in for Microsoft Entra External ID's signing keys: an RSA key pair whose public half a local HTTP server
 * publishes as a JWKS, so the API verifies real signatures against a real JWKS endpoint. Tests sign with the
 * private half (handed over with vitest's provide/inject).
 */
export interface FakeEntra {
  issuer: string;
  audience: string;
  jwksUrl: string;
  privateJwk: JWK;
  close(): Promise<void>;
}

export const FAKE_ENTRA_KID = 'test-signing-key';

export async function startFakeEntra(): Promise<FakeEntra> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid: FAKE_ENTRA_KID, alg: 'RS256', use: 'sig' };
  const server: Server = createServer((request, response) => {
    if (request.url === '/discovery/v2.0/keys') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ keys: [publicJwk] }));
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const base = `http://127.0.0.1:${port}`;
  return {
    issuer: `${base}/tenant/v2.0`,
    audience: 'api://tracepipe-test',
    jwksUrl: `${base}/discovery/v2.0/keys`,
    privateJwk: { ...(await exportJWK(privateKey)), kid: FAKE_ENTRA_KID, alg: 'RS256' },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export interface TokenOptions {
  subject?: string;
  issuer?: string;
  audience?: string;
  /** Seconds from now; negative for an expired token. */
  expiresIn?: number;
  claims?: Record<string, unknown>;
  /** Sign with another key (a forged token). */
  privateJwk?: JWK;
}

/** A token as Entra would issue it for the test tenant, signed with the fake's key unless told otherwise. */
export async function signEntraToken(options: TokenOptions = {}): Promise<string> {
  const entra = inject('entra');
  const key = await importJWK(options.privateJwk ?? entra.privateJwk, 'RS256');
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ ...options.claims })
    .setProtectedHeader({ alg: 'RS256', kid: FAKE_ENTRA_KID, typ: 'JWT' })
    .setIssuer(options.issuer ?? entra.issuer)
    .setAudience(options.audience ?? entra.audience)
    .setSubject(options.subject ?? `subject-${now}-${Math.random().toString(36).slice(2)}`)
    .setIssuedAt(now - 5)
    .setExpirationTime(now + (options.expiresIn ?? 600))
    .sign(key);
}
