/**
 * The partition of everything stored per sending mailbox in the pacing table. Table keys may not hold '/',
 * '\\', '#', '?' or control characters, and a local part may hold several; the encoded '@' ("%40") also keeps
 * these keys apart from the tenant-wide records.
 */
export function mailboxPartitionKey(mailbox: string): string {
  return encodeURIComponent(mailbox.toLowerCase());
}
