import { type QueueEnvelope, withBooking } from "../domain/envelope.js";
import { type QueuedMessage, recipientsOf } from "../domain/message.js";
import { describeTenantWait } from "../pacing/wording.js";
import type { SendOutcome, ThrottledOutcome } from "../transport/outcome.js";
import { type ClaimTerms, defer } from "./defer.js";
import type { DispatchDeps } from "./services.js";

/** What passing the tenant's gate gave a message: whether it is the probe of a paused tenant. */
export interface TenantTicket {
  /** The probe lease, when this message tests whether external mail goes again. */
  probe?: string;
}

/**
 * The tenant external recipient limit's gate (shared/pacing/tenant.ts): a message with any external
 * recipient waits while the tenant is paused, internal-only messages pass untouched. Resolves to a ticket,
 * or to undefined when the message was deferred.
 */
export async function passTenant(
  envelope: QueueEnvelope,
  message: QueuedMessage,
  claim: ClaimTerms,
  deps: DispatchDeps,
): Promise<TenantTicket | undefined> {
  const all = "kind" in message ? message.recipients : recipientsOf(message);
  const recipients = envelope.only ?? all.map((r) => r.address);
  const external = deps.tenant.externalOf(recipients);
  if (external.length === 0) return {};
  const decision = await deps.tenant.admit();
  if (decision.kind === "go") return {};
  if (decision.kind === "probe") {
    deps.log.info("message probes the tenant's external recipient limit", { messageId: envelope.id });
    return { probe: decision.leaseId };
  }
  await defer(
    withBooking(envelope, false),
    deps,
    claim,
    decision.until,
    describeTenantWait(decision, external.length),
  );
  deps.log.info("message deferred by the tenant's external recipient limit", {
    messageId: envelope.id,
    until: decision.until,
  });
  return undefined;
}

/**
 * Feeds what happened back to the tenant: a `550 5.7.233` (for the whole message or some recipients) pauses
 * external sending and resolves to when the refused part goes next; a probe that got through lifts the pause,
 * one that ended otherwise (no send at all: `outcome` undefined) lets the next waiting message probe.
 */
export async function settleTenant(
  ticket: TenantTicket,
  outcome: SendOutcome | undefined,
  envelope: QueueEnvelope,
  deps: DispatchDeps,
): Promise<number | undefined> {
  const refusal = outcome && tenantRefusal(outcome);
  if (refusal) {
    return deps.tenant.refused({
      ...(ticket.probe ? { leaseId: ticket.probe } : {}),
      reason: `${refusal.code ?? "throttled"}: ${refusal.text}`,
      mailbox: envelope.mailbox,
    });
  }
  if (ticket.probe) {
    const delivered = outcome?.kind === "sent" || outcome?.kind === "partial";
    await deps.tenant.probeFinished(ticket.probe, delivered);
  }
  return undefined;
}

function tenantRefusal(outcome: SendOutcome): ThrottledOutcome | undefined {
  const throttled = (o: SendOutcome | undefined) =>
    o?.kind === "throttled" && o.cause === "tenantExternal" ? o : undefined;
  if (outcome.kind === "partial") {
    for (const refused of outcome.refused) {
      const found = throttled(refused.outcome);
      if (found) return found;
    }
    return undefined;
  }
  return throttled(outcome);
}
