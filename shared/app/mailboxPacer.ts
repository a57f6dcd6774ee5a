import { randomBytes } from "node:crypto";
import type { TransportName } from "../domain/client.js";
import { type PacingPolicy, type PacingSettings, pacingPolicy } from "../pacing/limits.js";
import {
  decide,
  type PacingDecision,
  type QuotaView,
  quotaView,
  release,
  type ThrottleFeedback,
} from "../pacing/window.js";
import type { Clock, PacingStore } from "../storage/ports.js";

/**
 * Paces every sending mailbox through the shared store: reserve before a send, release after it.
 * Each call is one optimistic read-decide-write of the mailbox's record; the decision itself is pure.
 */
export class MailboxPacer {
  constructor(
    /** Public for its operation counters (tests and benchmarks bound the storage cost per message). */
    readonly store: PacingStore,
    private readonly settings: PacingSettings,
    private readonly clock: Clock,
  ) {}

  policy(mailbox: string, transport: TransportName): PacingPolicy {
    return pacingPolicy(this.settings, mailbox, transport);
  }

  /** Asks for a send slot; `bookedAt` is the slot an earlier decision booked this message for. */
  reserve(
    mailbox: string,
    transport: TransportName,
    request: { recipients: number; bookedAt?: number; uploadBytes?: number },
  ): Promise<PacingDecision> {
    const policy = this.policy(mailbox, transport);
    const leaseId = randomBytes(6).toString("base64url");
    return this.store.update(mailbox, (current) => {
      const { decision, state, changed } = decide(
        current,
        this.clock.now().getTime(),
        { ...request, leaseId },
        policy,
      );
      return { state: changed ? state : undefined, result: decision };
    });
  }

  /**
   * Reports a reservation's send as finished. With `throttle` the mailbox pauses and the message is booked
   * again; the answer is its planned time (epoch ms).
   */
  release(
    mailbox: string,
    transport: TransportName,
    request: { leaseId: string; recipients: number; throttle?: ThrottleFeedback },
  ): Promise<number | undefined> {
    const policy = this.policy(mailbox, transport);
    return this.store.update(mailbox, (current) => {
      const { state, plannedAt } = release(current, this.clock.now().getTime(), request, policy);
      return { state, result: plannedAt };
    });
  }

  async quota(mailbox: string, transport: TransportName): Promise<QuotaView> {
    const state = await this.store.get(mailbox);
    return quotaView(state, this.clock.now().getTime(), this.policy(mailbox, transport));
  }
}
