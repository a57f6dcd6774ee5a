import type { IdempotencyRecord } from "../domain/idempotency.js";
import { ProblemError } from "../domain/problem.js";
import type { Services } from "./services.js";

/** The key is this request's now, or an earlier request with the same key and message was accepted. */
export type KeyClaim = { kind: "claimed" } | { kind: "replay"; id: string; status: "queued" | "scheduled" };

export interface KeyTiming {
  /** How long a repeat waits for the first request with its key to finish storing (Power Automate retries
   * an action while the first attempt may still be running). */
  waitForFirstMs: number;
  pollMs: number;
  /** A claim whose message has no status record this long after it was made belongs to a request that died
   * before it could undo its claim (an HTTP function has at most 230 s to answer): the key is free again. */
  abandonedClaimMs: number;
}

const defaultTiming: KeyTiming = { waitForFirstMs: 10_000, pollMs: 200, abandonedClaimMs: 5 * 60_000 };

/**
 * Claims `key` for `claim.messageId`, or answers what the holder of the key was given. A repeat answers the
 * original id only once the original's status record exists, so a repeat never hears 202 for a message that
 * was not accepted in the end: it waits while the first request is still storing, takes the key over when
 * the first one gave it up (or died with it), and answers 503 when the first is still busy after the wait.
 */
export async function claimIdempotencyKey(
  clientId: string,
  key: string,
  claim: IdempotencyRecord,
  services: Pick<Services, "idempotency" | "statuses" | "clock">,
  timing: KeyTiming = defaultTiming,
): Promise<KeyClaim> {
  const { idempotency, statuses, clock } = services;
  const deadline = clock.now().getTime() + timing.waitForFirstMs;
  for (;;) {
    const holder = await idempotency.claim(clientId, key, claim, clock.now());
    if (holder.messageId === claim.messageId) return { kind: "claimed" };
    if (holder.fingerprint !== claim.fingerprint) {
      throw new ProblemError(
        "conflict",
        `Idempotency-Key was already used for a different message (${holder.messageId}); use a new key for a new message.`,
        { extensions: { field: "Idempotency-Key", messageId: holder.messageId } },
      );
    }
    const record = await statuses.get(clientId, holder.messageId);
    if (record) {
      return {
        kind: "replay",
        id: holder.messageId,
        status: record.status === "scheduled" ? "scheduled" : "queued",
      };
    }
    const now = clock.now().getTime();
    if (now - Date.parse(holder.createdAt) > timing.abandonedClaimMs) {
      await idempotency.release(clientId, key, holder.messageId);
      continue;
    }
    if (now > deadline) {
      throw new ProblemError(
        "unavailable",
        "An earlier request with this Idempotency-Key is still being accepted; try again shortly.",
        { headers: { "Retry-After": "5" }, extensions: { field: "Idempotency-Key" } },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, timing.pollMs));
  }
}
