import { describe, expect, it } from 'vitest';
import { BLOB_CREATED_EVENT_TYPE, blobSubjectPrefix, parseBlobCreatedEvent } from '../../shared/storage/blobCreatedEvent.js';

/** The BlobCreated event as Event Grid documents it (https://learn.microsoft.com/azure/event-grid/event-schema-blob-storage). */
const documented = {
  topic: '/subscriptions/0000/resourceGroups/Storage/providers/Microsoft.Storage/storageAccounts/my-storage-account',
  subject: '/blobServices/default/containers/uploads/blobs/8f0c7c52-2b1e-4d7b-9a7e-1c0b8a3f9d11/1/input_events.jsonl',
  eventType: BLOB_CREATED_EVENT_TYPE,
  eventTime: '2017-06-26T18:41:00.9584103Z',
  id: '831e1650-001e-001b-66ab-eeb76e069631',
  data: {
    api: 'PutBlockList',
    clientRequestId: '6d79dbfb-0e37-4fc4-981f-442c9ca65760',
    requestId: '831e1650-001e-001b-66ab-eeb76e000000',
    eTag: '0x8D4BCC2E4835CD0',
    contentType: 'text/plain',
    contentLength: 524288,
    blobType: 'BlockBlob',
    url: 'https://my-storage-account.blob.core.windows.net/uploads/8f0c7c52-2b1e-4d7b-9a7e-1c0b8a3f9d11/1/input_events.jsonl',
    sequencer: '00000000000004420000000000028963',
    storageDiagnostics: { batchId: 'b68529f3-68cd-4744-baa4-3c0498ec19f0' },
  },
  dataVersion: '',
  metadataVersion: '1',
};

describe('BlobCreated events from a Storage queue', () => {
  it('reads the container, the blob name (slashes and all) and the ETag, quoted as the SDK quotes it', () => {
    expect(parseBlobCreatedEvent(documented)).toEqual({
      event: {
        id: documented.id,
        container: 'uploads',
        blobName: '8f0c7c52-2b1e-4d7b-9a7e-1c0b8a3f9d11/1/input_events.jsonl',
        etag: '"0x8D4BCC2E4835CD0"',
        contentLength: 524288,
        url: documented.data.url,
      },
    });
    expect(documented.subject.startsWith(blobSubjectPrefix('uploads'))).toBe(true);
  });

  it('reads a message handed over as text too', () => {
    expect(parseBlobCreatedEvent(JSON.stringify(documented))).toMatchObject({ event: { container: 'uploads' } });
  });

  it('says why a message is not one: not JSON, another event type, no ETag, a subject that names no blob', () => {
    expect(parseBlobCreatedEvent('not json')).toEqual({ problem: 'the message is not JSON' });
    expect(parseBlobCreatedEvent({ ...documented, eventType: 'Microsoft.Storage.BlobDeleted' })).toMatchObject({ problem: expect.stringMatching(/eventType/) });
    expect(parseBlobCreatedEvent({ ...documented, data: { ...documented.data, eTag: undefined } })).toMatchObject({ problem: expect.stringMatching(/data\.eTag/) });
    expect(parseBlobCreatedEvent({ ...documented, subject: '/blobServices/default/containers/uploads' })).toEqual({
      problem: 'the subject "/blobServices/default/containers/uploads" does not name a blob',
    });
    expect(parseBlobCreatedEvent([documented])).toMatchObject({ problem: expect.stringMatching(/not a BlobCreated event/) });
  });
});
