import type { ContainerClient } from '@azure/storage-blob';

/**
 * Deletes every blob under `prefix` (with its snapshots); a blob already gone is not an error, so a repeated or
 * concurrent call converges. Answers how many blobs it deleted. Listing is paged by the SDK: memory holds a page.
 */
export async function deleteBlobFolder(container: ContainerClient, prefix: string): Promise<number> {
  let deleted = 0;
  for await (const blob of container.listBlobsFlat({ prefix })) {
    try {
      await container.deleteBlob(blob.name, { deleteSnapshots: 'include' });
      deleted++;
    } catch (error) {
      const status = (error as { statusCode?: unknown } | null)?.statusCode;
      if (status !== 404) throw error;
    }
  }
  return deleted;
}
