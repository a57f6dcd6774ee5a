import { RestError } from "@azure/data-tables";

/** A row already deleted (404) or renewed by a new claim (412) is not ours to delete. */
export function ignoreStale(error: unknown): void {
  if (error instanceof RestError && (error.statusCode === 404 || error.statusCode === 412)) return;
  throw error;
}

/** Deleting what is already gone is success. */
export function ignoreNotFound(error: unknown): void {
  if (error instanceof Error && "statusCode" in error && error.statusCode === 404) return;
  throw error;
}

// Network failures a storage call can end in once the SDK's own retries are spent.
const outageCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "REQUEST_SEND_ERROR",
  "UND_ERR_SOCKET",
]);

/**
 * True when a storage call failed because the service could not be reached or answered with a server error
 * (500, 503 "ServerBusy", 504): the request may work again shortly. Its own 4xx answers are not this.
 * https://learn.microsoft.com/rest/api/storageservices/common-rest-api-error-codes
 */
export function isStorageOutage(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const e = error as Error & { statusCode?: number; code?: string; cause?: unknown };
  if (typeof e.statusCode === "number" && e.statusCode >= 500) return true;
  if (e.code && outageCodes.has(e.code)) return true;
  if (e.name === "AbortError" || e.name === "TimeoutError") return true;
  return e.cause !== undefined && e.cause !== error && isStorageOutage(e.cause);
}
