import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import * as storageBlobSdk from '@azure/storage-blob';
import { BlobServiceClient, BlockBlobClient, type UserDelegationKey } from '@azure/storage-blob';
import { beforeAll, describe, expect, inject, it, vi } from 'vitest';
import {
  CLOCK_SKEW_SECONDS,
  createSharedKeyBlobSasUrl,
  createBlobSasUrl,
  createUserDelegationBlobSasUrl,
  SAS_VERSION,
  type UserDelegationKeySource,
} from '../../shared/storage/blobSas.js';

/**
 * Upload URLs, at the unit level: what the user-delegation SAS (Azure, managed identity) signs, checked against
 * the documented string-to-sign with the delegation key; and the shared-key SAS against a real Azurite, where an
 * expired URL must fail (the API's own TTL is at least 60 s, too long to wait for in a test).
 */

const ACCOUNT = 'tracepipeprod';
const ACCOUNT_URL = `https://${ACCOUNT}.blob.core.windows.net`;

function fakeKeySource(): UserDelegationKeySource & { getUserDelegationKey: ReturnType<typeof vi.fn> } {
  const keyValue = randomBytes(32).toString('base64');
  return {
    accountName: ACCOUNT,
    url: ACCOUNT_URL,
    getUserDelegationKey: vi.fn(
      async (startsOn: Date, expiresOn: Date): Promise<UserDelegationKey> => ({
        signedObjectId: '11111111-2222-4333-8444-555555555555',
        signedTenantId: '66666666-7777-4888-9999-000000000000',
        signedStartsOn: startsOn,
        signedExpiresOn: expiresOn,
        signedService: 'b',
        signedVersion: '2025-07-05',
        value: keyValue,
      }),
    ),
  };
}

/** Azure's ISO form in a SAS: whole seconds. */
const isoSeconds = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * The string-to-sign of a user-delegation SAS, version 2025-07-05 and later, field by field as documented:
 * https://learn.microsoft.com/rest/api/storageservices/create-user-delegation-sas#version-2025-07-05-and-later
 */
function userDelegationStringToSign(params: URLSearchParams, canonicalizedResource: string): string {
  const p = (name: string) => params.get(name) ?? '';
  return [
    p('sp'),
    p('st'),
    p('se'),
    canonicalizedResource,
    p('skoid'),
    p('sktid'),
    p('skt'),
    p('ske'),
    p('sks'),
    p('skv'),
    p('saoid'),
    p('suoid'),
    p('scid'),
    p('skdutid'),
    p('sduoid'),
    p('sip'),
    p('spr'),
    p('sv'),
    p('sr'),
    '', // signedSnapshotTime
    p('ses'),
    p('rscc'),
    p('rscd'),
    p('rsce'),
    p('rscl'),
    p('rsct'),
  ].join('\n');
}

describe('user-delegation upload URL (Azure, managed identity)', () => {
  const now = new Date('2026-02-19T10:30:00.750Z');
  const sessionId = randomUUID();
  const blobName = `${sessionId}/input_events.jsonl`;

  it('signs create+write on the one blob, for the TTL, HTTPS only, with the delegation key', async () => {
    const source = fakeKeySource();
    const signed = await createUserDelegationBlobSasUrl(source, {
      containerName: 'sessions',
      blobName,
      ttlSeconds: 3600,
      httpsOnly: true,
      now,
    });
    const url = new URL(signed.url);
    expect(`${url.origin}${url.pathname}`).toBe(`${ACCOUNT_URL}/sessions/${sessionId}/input_events.jsonl`);

    const params = url.searchParams;
    const start = new Date('2026-02-19T10:30:00Z').getTime() - CLOCK_SKEW_SECONDS * 1000;
    expect(params.get('sp')).toBe('cw');
    expect(params.get('sr')).toBe('b');
    expect(params.get('spr')).toBe('https');
    expect(params.get('sv')).toBe(SAS_VERSION);
    expect(params.get('st')).toBe(isoSeconds(new Date(start)));
    expect(params.get('se')).toBe('2026-02-19T11:30:00Z');
    expect(signed.expiresOn.toISOString()).toBe('2026-02-19T11:30:00.000Z');
    expect(params.get('skoid')).toBe('11111111-2222-4333-8444-555555555555');
    expect(params.get('sktid')).toBe('66666666-7777-4888-9999-000000000000');
    expect(params.get('sks')).toBe('b');
    expect(params.has('sip')).toBe(false);

    // The delegation key was fetched for a window that covers the SAS.
    expect(source.getUserDelegationKey).toHaveBeenCalledTimes(1);
    const [keyStart, keyExpiry] = source.getUserDelegationKey.mock.calls[0] as [Date, Date];
    expect(keyStart.getTime()).toBeLessThanOrEqual(start);
    expect(keyExpiry.getTime()).toBeGreaterThanOrEqual(signed.expiresOn.getTime());
    expect(params.get('skt')).toBe(isoSeconds(keyStart));
    expect(params.get('ske')).toBe(isoSeconds(keyExpiry));

    // The signature is the HMAC-SHA256, keyed with the delegation key, of exactly these values.
    const key = await source.getUserDelegationKey.mock.results[0]!.value as UserDelegationKey;
    const stringToSign = userDelegationStringToSign(params, `/blob/${ACCOUNT}/sessions/${blobName}`);
    const expected = createHmac('sha256', Buffer.from(key.value, 'base64')).update(stringToSign, 'utf8').digest('base64');
    expect(params.get('sig')).toBe(expected);
  });

  it('allows plain HTTP too only when asked (local development)', async () => {
    const signed = await createUserDelegationBlobSasUrl(fakeKeySource(), {
      containerName: 'sessions',
      blobName,
      ttlSeconds: 600,
      httpsOnly: false,
      now,
    });
    expect(new URL(signed.url).searchParams.get('spr')).toBe('https,http');
  });

  it('reuses a delegation key while it covers the next URL', async () => {
    const source = fakeKeySource();
    const request = { containerName: 'sessions', blobName, ttlSeconds: 3600, httpsOnly: true };
    await createUserDelegationBlobSasUrl(source, { ...request, now });
    await createUserDelegationBlobSasUrl(source, { ...request, now: new Date(now.getTime() + 30 * 60_000) });
    expect(source.getUserDelegationKey).toHaveBeenCalledTimes(1);
    await createUserDelegationBlobSasUrl(source, { ...request, now: new Date(now.getTime() + 2 * 3600_000) });
    expect(source.getUserDelegationKey).toHaveBeenCalledTimes(2);
  });

  it('is the path chosen when storage is configured by account URL', async () => {
    const source = fakeKeySource();
    const signed = await createBlobSasUrl(source as never, { accountUrl: ACCOUNT_URL }, {
      containerName: 'sessions',
      blobName,
      ttlSeconds: 3600,
      httpsOnly: true,
      now,
    });
    expect(source.getUserDelegationKey).toHaveBeenCalledTimes(1);
    expect(new URL(signed.url).searchParams.get('skoid')).toBeTruthy();
  });
});

describe('shared-key upload URL (connection string, Azurite)', () => {
  const container = `sas-tests-${randomBytes(4).toString('hex')}`;
  let service: BlobServiceClient;

  beforeAll(async () => {
    service = BlobServiceClient.fromConnectionString(inject('storageConnectionString'));
    await service.getContainerClient(container).create();
  });

  it('is the path chosen when storage is configured by connection string, and uploads', async () => {
    const blobName = `${randomUUID()}/input_events.jsonl`;
    const signed = await createBlobSasUrl(service, { connectionString: inject('storageConnectionString') }, {
      containerName: container,
      blobName,
      ttlSeconds: 3600,
      httpsOnly: false,
    });
    const params = new URL(signed.url).searchParams;
    expect(params.get('sp')).toBe('cw');
    expect(params.get('sr')).toBe('b');
    expect(params.has('skoid')).toBe(false);
    await new BlockBlobClient(signed.url).upload('{"ts":1,"type":"a"}\n', 20);
    expect((await service.getContainerClient(container).getBlobClient(blobName).getProperties()).contentLength).toBe(20);
  });

  it('stops working once expired', async () => {
    const signed = createSharedKeyBlobSasUrl(storageBlobSdk, service, {
      containerName: container,
      blobName: `${randomUUID()}/input_events.jsonl`,
      ttlSeconds: 3600,
      httpsOnly: false,
      now: new Date(Date.now() - 3600_000 - 5_000),
    });
    expect(signed.expiresOn.getTime()).toBeLessThan(Date.now());
    await expect(new BlockBlobClient(signed.url).upload('x', 1)).rejects.toMatchObject({ statusCode: 403 });
  });

  it('is refused over plain HTTP when HTTPS-only', async () => {
    const signed = createSharedKeyBlobSasUrl(storageBlobSdk, service, {
      containerName: container,
      blobName: `${randomUUID()}/input_events.jsonl`,
      ttlSeconds: 3600,
      httpsOnly: true,
    });
    expect(new URL(signed.url).searchParams.get('spr')).toBe('https');
    await expect(new BlockBlobClient(signed.url).upload('x', 1)).rejects.toMatchObject({ statusCode: 403 });
  });
});
