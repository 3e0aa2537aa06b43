/**
 * The Azure SDK's RestError, told by its name as `isRestError` of @azure/core-rest-pipeline does, not by
 * `instanceof`: the storage SDK is loaded on first use (shared/runtime/lazily.ts), and importing its class here only
 * for the check would load it with every function.
 */
export interface StorageRestError {
  name: 'RestError';
  statusCode?: number;
  code?: string;
}

export function isStorageRestError(error: unknown): error is StorageRestError {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'RestError';
}

export function isStorageStatus(error: unknown, status: number): boolean {
  return isStorageRestError(error) && error.statusCode === status;
}
