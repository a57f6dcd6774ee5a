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
