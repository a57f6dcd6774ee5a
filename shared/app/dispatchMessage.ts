import { randomUUID } from "node:crypto";
import { text } from "node:stream/consumers";
import { decodeEnvelope, parseQueuedMessage, type QueueEnvelope, withBooking } from "../domain/envelope.js";
import type { QueuedMessage } from "../domain/message.js";
import { type OutboundMessage, toOutbound } from "../domain/outbound.js";
import { isFinal, type StatusRecord } from "../domain/statusRecord.js";
import type { PacingPolicy } from "../pacing/limits.js";
import type { PacingDecision, ThrottleFeedback } from "../pacing/window.js";
import { describeWait } from "../pacing/wording.js";
import { type MessageStore, PacingContentionError } from "../storage/ports.js";
import type { SendOutcome } from "../transport/outcome.js";
import type { Transport } from "../transport/transport.js";
import { type ClaimTerms, defer, requeue } from "./defer.js";
import { markFailed } from "./failMessage.js";
import { flushReport } from "./finalReport.js";
import { recordOutcome } from "./recordOutcome.js";
import { ClaimLostError, claimed, heldUntil, saveCheckpoint } from "./sendClaim.js";
import type { DispatchDeps } from "./services.js";
import { passTenant, settleTenant, type TenantTicket } from "./tenantGate.js";

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// A mailbox record contended beyond the store's retries: come back after a short random pause, no attempt spent.
const contentionRetryMs = { min: 500, spread: 2000 };
// A booked wait no longer than the pacer's hold (a wave's next connection, a slot about to open) is waited out
// in process and asked again, up to this many times and twice the hold in all; longer ones go back to the queue.
const maxHoldRounds = 10;
// A message back in the queue wakes this much before its slot and the pacer holds it the rest: queue visibility
// is whole seconds (https://learn.microsoft.com/rest/api/storageservices/put-message) and an idle queue trigger
// polls every host.json maxPollingInterval (2 s), so waking on the slot would start each wave seconds late.
const maxWakeLeadMs = 2000;

/** Which queue message is being handled: its id names the dispatcher's claim (a redelivery is the same owner). */
export interface Delivery {
  queueMessageId?: string;
}

/**
 * Queue trigger for `mailhook-outbound`: sends one message once. The move to `sending` is a claim (owner and
 * expiry, written under the record's ETag), so two queue messages for one message never both send; a copy
 * that finds a live claim of another comes back when it ends.
 */
export async function dispatchMessage(
  item: unknown,
  deps: DispatchDeps,
  delivery: Delivery = {},
): Promise<void> {
  const envelope = decodeEnvelope(item);
  const owner = delivery.queueMessageId ?? randomUUID();
  const record = await deps.statuses.get(envelope.clientId, envelope.id);
  if (!record) {
    deps.log.error("no status record for queued message; dropping it", { messageId: envelope.id });
    return;
  }
  if (isFinal(record.status)) {
    // A report owed from an invocation that failed after recording the final status goes out now.
    await flushReport(record, deps);
    deps.log.info("message already final; redelivery ignored", {
      messageId: envelope.id,
      status: record.status,
    });
    return;
  }
  const now = deps.clock.now().getTime();
  const claim: ClaimTerms = { owner, leaseMs: deps.pacer.policy(envelope.mailbox, record.transport).leaseMs };
  const claimEndsAt = heldUntil(record, owner, now, claim.leaseMs);
  if (claimEndsAt !== undefined) {
    // Another dispatcher is sending it (a second queue message for one message): look again when its claim
    // ends; by then it is final (this copy is dropped) or the claim expired (this copy takes over).
    await requeue(envelope, deps, claimEndsAt - now + contentionRetryMs.min * Math.random());
    deps.log.info("message claimed by another dispatcher; looking again later", {
      messageId: envelope.id,
      until: claimEndsAt,
    });
    return;
  }
  if (record.sendAt && Date.parse(record.sendAt) > now) {
    // Scheduled beyond one visibility timeout (7 days): wait again.
    await requeue(envelope, deps, Date.parse(record.sendAt) - now);
    return;
  }
  const transport = deps.transports.get(record.transport);
  if (!transport) throw new Error(`transport ${record.transport} is not configured`);
  const message = await loadMessage(envelope, deps.messages);
  // The tenant's external recipient limit first (it holds messages of every mailbox), then the mailbox's own.
  const ticket = await passTenant(envelope, message, claim, deps);
  if (ticket === undefined) return;
  const outbound = outboundOf(message, envelope, deps);
  const leaseId = await reserveSlot(envelope, record, claim, deps, transport.uploadBytes?.(outbound) ?? 0);
  if (leaseId === undefined) {
    await settleTenant(ticket, undefined, envelope, deps);
    return;
  }
  await sendInSlot(envelope, outbound, transport, { leaseId, ticket }, claim, deps);
}

/**
 * Asks pacing for a send slot. Resolves to the lease once the slot has come (a slot a few seconds ahead is
 * waited for in process); otherwise the message has been deferred, failed or put back, and resolves to
 * undefined. Throttling is scheduling, not failure: a waiting message sleeps in the queue until its own slot.
 */
async function reserveSlot(
  envelope: QueueEnvelope,
  record: StatusRecord,
  claim: ClaimTerms,
  deps: DispatchDeps,
  uploadBytes: number,
): Promise<string | undefined> {
  const policy = deps.pacer.policy(envelope.mailbox, record.transport);
  const sleep = deps.sleep ?? realSleep;
  // A deferred message holds a booking for its planned slot (shared/pacing/window.ts).
  const bookedAt =
    !envelope.unbooked && record.status === "deferred" && record.nextAttemptAt
      ? Date.parse(record.nextAttemptAt)
      : undefined;
  const decision = await askWithHolds(envelope, record, deps, { uploadBytes, bookedAt, policy, sleep });
  if (decision === undefined) {
    deps.log.warn("pacing state contended; trying again shortly", { messageId: envelope.id });
    await requeue(envelope, deps, contentionRetryMs.min + Math.random() * contentionRetryMs.spread);
    return undefined;
  }
  switch (decision.kind) {
    case "reserved": {
      const holdMs = decision.startAt - deps.clock.now().getTime();
      if (holdMs > 0) await sleep(holdMs);
      return decision.leaseId;
    }
    case "impossible":
      await markFailed(envelope, deps, () => ({
        reason: decision.detail,
        lastError: { code: "limits", text: decision.detail },
      }));
      return undefined;
    case "wait": {
      // Woken before its booked slot (a visibility timeout is capped at 7 days): the booking stands as it is,
      // and so does the status that names it (unless the booking was made while the message waited here).
      const reason =
        decision.reason === "early" && record.status === "deferred"
          ? undefined
          : describeWait(decision, policy, envelope.recipients, uploadBytes);
      const wakeAt = decision.until - Math.min(maxWakeLeadMs, policy.maxHoldMs / 2);
      await defer(withBooking(envelope, true), deps, claim, decision.until, reason, wakeAt);
      deps.log.info("message deferred by pacing", {
        messageId: envelope.id,
        reason: decision.reason,
        until: new Date(decision.until).toISOString(),
      });
      return undefined;
    }
  }
}

/**
 * Asks pacing for a slot and waits out, in process, the waits no longer than the pacer's hold (the next
 * connection of a wave, a slot about to open), asking again with the slot it keeps. Resolves to the last
 * answer, or to undefined when the record was contended before the message held any booking.
 */
async function askWithHolds(
  envelope: QueueEnvelope,
  record: StatusRecord,
  deps: DispatchDeps,
  ask: { uploadBytes: number; bookedAt?: number; policy: PacingPolicy; sleep(ms: number): Promise<void> },
): Promise<PacingDecision | undefined> {
  let bookedAt = ask.bookedAt;
  // The last wait waited out here: the message holds that booking, though its status does not say so yet.
  let held: Extract<PacingDecision, { kind: "wait" }> | undefined;
  const holdEndsAt = deps.clock.now().getTime() + 2 * ask.policy.maxHoldMs;
  for (let round = 0; ; round++) {
    let decision: PacingDecision;
    try {
      decision = await deps.pacer.reserve(envelope.mailbox, record.transport, {
        recipients: envelope.recipients,
        uploadBytes: ask.uploadBytes,
        bookedAt,
      });
    } catch (error) {
      if (!(error instanceof PacingContentionError)) throw error;
      // Contended after a wait here: defer to the booking it holds.
      return held;
    }
    const now = deps.clock.now().getTime();
    if (
      decision.kind !== "wait" ||
      decision.until - now > ask.policy.maxHoldMs ||
      decision.until > holdEndsAt ||
      round >= maxHoldRounds
    )
      return decision;
    held = decision;
    bookedAt = decision.slotAt ?? decision.until;
    await ask.sleep(Math.max(0, decision.until - now));
  }
}

/**
 * Sends in a reserved slot under the message's claim, then records the outcome and hands the slot (and a
 * tenant probe) back. The transport gets what an earlier attempt recorded (a Graph draft) and records what it
 * creates before it asks the provider to send.
 */
async function sendInSlot(
  envelope: QueueEnvelope,
  message: OutboundMessage,
  transport: Transport,
  slot: { leaseId: string; ticket: TenantTicket },
  claim: ClaimTerms,
  deps: DispatchDeps,
): Promise<void> {
  const release = (throttle?: ThrottleFeedback) =>
    deps.pacer.release(envelope.mailbox, transport.name, {
      leaseId: slot.leaseId,
      recipients: envelope.recipients,
      throttle,
    });
  let outcome: SendOutcome;
  try {
    const sending = await deps.statuses.update(envelope.clientId, envelope.id, (r) =>
      claimed(r, claim.owner, deps.clock.now(), claim.leaseMs),
    );
    if (sending?.status !== "sending" || sending.claim?.owner !== claim.owner) {
      // Cancelled, finished or claimed elsewhere while waiting for the slot: nothing to send.
      await release();
      await settleTenant(slot.ticket, undefined, envelope, deps);
      return;
    }
    outcome = await transport.send(message, {
      checkpoint: sending.checkpoint,
      mayHaveBeenSent: sending.possibleDuplicate === true,
      saveCheckpoint: (checkpoint) => saveCheckpoint(deps.statuses, envelope, claim.owner, checkpoint),
    });
  } catch (error) {
    // The send may or may not have happened: the reservation keeps counting, only the leases end.
    await release();
    await settleTenant(slot.ticket, undefined, envelope, deps);
    if (error instanceof ClaimLostError) {
      deps.log.warn("claim taken over by another dispatcher; this attempt stops", { messageId: envelope.id });
      return;
    }
    throw error;
  }
  deps.log.info("send attempt finished", {
    messageId: envelope.id,
    transport: transport.name,
    outcome: outcome.kind,
    code: "code" in outcome ? outcome.code : undefined,
  });
  // What the answer says about the tenant's external recipient limit: a refusal there is planned after the
  // tenant's pause, and the mailbox itself is not paused (its internal mail goes on).
  const tenantPlannedAt = await settleTenant(slot.ticket, outcome, envelope, deps);
  if (outcome.kind === "throttled" && outcome.cause !== "tenantExternal") {
    // The mailbox pauses; the answer is this message's slot after the pause.
    const plannedAt = await release({
      retryAfterMs: outcome.retryAfterMs,
      quota: outcome.cause === "quota",
      reason: `${outcome.code ?? "throttled"}: ${outcome.text}`,
    });
    await recordOutcome(outcome, envelope, claim.owner, deps, plannedAt);
    return;
  }
  // A final outcome is recorded first: should the release fail, the lease simply runs out, and a
  // redelivered message finds its status final instead of being sent again.
  const releaseQuietly = () =>
    release().catch((error: unknown) =>
      deps.log.warn("pacing release failed; the lease will expire", {
        messageId: envelope.id,
        error: String(error),
      }),
    );
  if (outcome.kind === "transient") await releaseQuietly();
  await recordOutcome(outcome, envelope, claim.owner, deps, tenantPlannedAt);
  if (outcome.kind !== "transient") await releaseQuietly();
}

async function loadMessage(envelope: QueueEnvelope, messages: MessageStore): Promise<QueuedMessage> {
  if (envelope.message) return envelope.message;
  const json = await text(await messages.download(envelope.messageBlob!));
  return parseQueuedMessage(envelope, JSON.parse(json));
}

function outboundOf(message: QueuedMessage, envelope: QueueEnvelope, deps: DispatchDeps): OutboundMessage {
  return toOutbound(message, {
    saveToSentItems: deps.saveToSentItems(message.clientId),
    download: (path) => deps.messages.download(path),
    ...(envelope.only ? { only: envelope.only } : {}),
  });
}
