/**
 * Keys of the time index: `~t~<inverted createdAt ms, 13 digits>~<id>`, so that ascending key order is newest
 * first (Table storage returns a partition in key order; Azure's "log tail" pattern:
 * https://learn.microsoft.com/azure/storage/tables/table-storage-design-patterns#log-tail-pattern). The `~`
 * prefix sorts after every message id (UUIDs), so index entries and records share a partition apart.
 */
export const timeKeyPrefix = "~t~";
const maxMs = 9_999_999_999_999;
const inverted = (ms: number) => String(maxMs - ms).padStart(13, "0");

export function timeKey(createdAt: string, id: string): string {
  return `${timeKeyPrefix}${inverted(Date.parse(createdAt))}~${id}`;
}

/** A key that sorts after every key of messages created at `ms` and before every older one. */
export function timeBound(ms: number): string {
  return `${timeKeyPrefix}${inverted(ms)}~~`;
}

/** The first and last possible keys: the whole index lies strictly between them. */
export const timeKeyRange = { low: timeKeyPrefix, high: `${timeKeyPrefix}~` } as const;

/** What a time key looks like: only keys of this shape are accepted back from a caller's cursor. */
export const timeKeyPattern = /^~t~\d{13}~[A-Za-z0-9-]{1,64}$/;

/** The message id at the end of a time key. */
export function idOfTimeKey(key: string): string {
  return key.slice(key.lastIndexOf("~") + 1);
}
