import type { BlobSASSignatureValues, BlobServiceClient, UserDelegationKey } from '@azure/storage-blob';
import type { Config } from '../config.js';
import { lazily } from '../runtime/lazily.js';

type StorageBlobSdk = typeof import('@azure/storage-blob');
// Loaded when the first URL is signed, not with every function (shared/runtime/lazily.ts).
const storageBlobSdk = lazily((): Promise<StorageBlobSdk> => import('@azure/storage-blob'));

/**
 * Short-lived URLs for one blob: a service SAS on that blob alone, with exactly the permissions asked for (uploads
 * of sessions: create and write, `cw`; downloads of example messages: read, `r`). Two ways to sign, chosen by
 * configuration:
 * - storage by account URL (Azure, managed identity): a user-delegation SAS, signed with a user delegation key
 *   that the identity fetches from the service (https://learn.microsoft.com/rest/api/storageservices/create-user-delegation-sas);
 *   no account key exists anywhere.
 * - storage by connection string (Azurite locally): a shared-key SAS from the connection string's account key.
 * A SAS cannot bind the size or content of the upload; the indexer checks both.
 */

/**
 * The SAS version is pinned: the string that is signed differs between versions, and this is the format the
 * tests verify (and one that Azurite validates). https://learn.microsoft.com/rest/api/storageservices/create-user-delegation-sas#version-2025-07-05-and-later
 */
export const SAS_VERSION = '2025-07-05';
export const UPLOAD_PERMISSIONS = 'cw';
export const READ_PERMISSIONS = 'r';
/** The SAS starts a little in the past, so that a client whose clock runs behind can use it at once. */
export const CLOCK_SKEW_SECONDS = 5 * 60;
/** A delegation key is fetched for longer than one SAS needs, and reused while it covers a new SAS. */
const DELEGATION_KEY_EXTRA_SECONDS = 3600;
const MAX_DELEGATION_KEY_SECONDS = 7 * 24 * 3600;

export interface BlobSasRequest {
  containerName: string;
  blobName: string;
  /** Defaults to UPLOAD_PERMISSIONS (create and write), what session uploads need. */
  permissions?: typeof UPLOAD_PERMISSIONS | typeof READ_PERMISSIONS;
  ttlSeconds: number;
  /** Outside local development the SAS is HTTPS-only (Azurite speaks HTTP). */
  httpsOnly: boolean;
  now?: Date;
}

export interface SignedBlobUrl {
  url: string;
  startsOn: Date;
  expiresOn: Date;
}

/** The client interface the user-delegation path needs (BlobServiceClient has it; tests fake it). */
export interface UserDelegationKeySource {
  readonly accountName: string;
  readonly url: string;
  getUserDelegationKey(startsOn: Date, expiresOn: Date): Promise<UserDelegationKey>;
}

/** What is signed, for either path. Times are whole seconds, as the SAS carries them. */
export function blobSasValues(sdk: StorageBlobSdk, request: BlobSasRequest): BlobSASSignatureValues {
  const now = wholeSeconds(request.now ?? new Date());
  return {
    version: SAS_VERSION,
    containerName: request.containerName,
    blobName: request.blobName,
    permissions: sdk.BlobSASPermissions.parse(request.permissions ?? UPLOAD_PERMISSIONS),
    startsOn: new Date(now.getTime() - CLOCK_SKEW_SECONDS * 1000),
    expiresOn: new Date(now.getTime() + request.ttlSeconds * 1000),
    protocol: request.httpsOnly ? sdk.SASProtocol.Https : sdk.SASProtocol.HttpsAndHttp,
  };
}

/** Signs an upload URL the way the storage configuration says. */
export async function createBlobSasUrl(
  service: BlobServiceClient,
  storage: Config['storage'],
  request: BlobSasRequest,
): Promise<SignedBlobUrl> {
  return 'accountUrl' in storage
    ? createUserDelegationBlobSasUrl(service, request)
    : createSharedKeyBlobSasUrl(await storageBlobSdk(), service, request);
}

export function createSharedKeyBlobSasUrl(sdk: StorageBlobSdk, service: BlobServiceClient, request: BlobSasRequest): SignedBlobUrl {
  const credential = service.credential;
  if (!(credential instanceof sdk.StorageSharedKeyCredential)) {
    throw new Error(
      'Upload URLs need an account key in AZURE_STORAGE_CONNECTION_STRING (AccountName and AccountKey), or ' +
        'AZURE_STORAGE_ACCOUNT_URL with a managed identity for user-delegation SAS.',
    );
  }
  const values = blobSasValues(sdk, request);
  const sas = sdk.generateBlobSASQueryParameters(values, credential).toString();
  return { url: `${blobUrl(service.url, request)}?${sas}`, startsOn: values.startsOn!, expiresOn: values.expiresOn! };
}

export async function createUserDelegationBlobSasUrl(
  source: UserDelegationKeySource,
  request: BlobSasRequest,
): Promise<SignedBlobUrl> {
  const sdk = await storageBlobSdk();
  const values = blobSasValues(sdk, request);
  const key = await delegationKeyCovering(source, values.startsOn!, values.expiresOn!);
  // A SAS is valid only while its key is; at the 7-day maximum the key may end a few minutes before the SAS would.
  if (key.signedExpiresOn < values.expiresOn!) values.expiresOn = key.signedExpiresOn;
  const sas = sdk.generateBlobSASQueryParameters(values, key, source.accountName).toString();
  return { url: `${blobUrl(source.url, request)}?${sas}`, startsOn: values.startsOn!, expiresOn: values.expiresOn! };
}

const cachedKeys = new WeakMap<UserDelegationKeySource, UserDelegationKey>();

/**
 * A user delegation key valid over [startsOn, expiresOn]. Fetching one is a round trip to Entra-backed storage, so
 * a key is fetched for an hour beyond the SAS (at most 7 days, Azure's limit) and reused while it covers the next.
 */
async function delegationKeyCovering(
  source: UserDelegationKeySource,
  startsOn: Date,
  expiresOn: Date,
): Promise<UserDelegationKey> {
  const cached = cachedKeys.get(source);
  if (cached && cached.signedStartsOn <= startsOn && cached.signedExpiresOn >= expiresOn) return cached;
  const keyExpiresOn = new Date(
    Math.min(expiresOn.getTime() + DELEGATION_KEY_EXTRA_SECONDS * 1000, startsOn.getTime() + MAX_DELEGATION_KEY_SECONDS * 1000),
  );
  const key = await source.getUserDelegationKey(startsOn, keyExpiresOn);
  cachedKeys.set(source, key);
  return key;
}

function blobUrl(serviceUrl: string, request: BlobSasRequest): string {
  const base = serviceUrl.endsWith('/') ? serviceUrl : `${serviceUrl}/`;
  const path = [request.containerName, ...request.blobName.split('/')].map(encodeURIComponent).join('/');
  return new URL(path, base).toString();
}

function wholeSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}
