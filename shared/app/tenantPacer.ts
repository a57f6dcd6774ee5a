import { randomBytes } from "node:crypto";
import { domainOf } from "../domain/address.js";
import {
  decideExternal,
  type ExternalDecision,
  externalRefused,
  probeFinished,
  type TenantPolicy,
  type TenantView,
  tenantView,
} from "../pacing/tenant.js";
import type { Clock, TenantPacingStore } from "../storage/ports.js";

/**
 * How long an instance that found the tenant unpaused believes it without reading again. A pause another
 * instance records holds this one's messages within it; a message that sets out in between is refused with
 * 550 5.7.233 and waits like the others (its delivered part stays delivered). Without it every message with
 * external recipients would cost one more Table read per dispatch; with it, one per instance per interval.
 * A paused tenant is always read afresh.
 */
export const unpausedBeliefMs = 2000;

/**
 * The tenant's external recipient limit across every instance: which recipients are external, whether a
 * message with external ones may go, and what a refusal or a probe's end means. Decisions are the pure
 * functions of shared/pacing/tenant.ts over the shared store; only a paused tenant is written to. One per
 * process (the composition root builds it), like the mailbox pacer.
 */
export class TenantPacer {
  /** When this instance last found the tenant unpaused (epoch ms, its own clock). */
  private unpausedAt?: number;
  /** The read under way, if any: callers meanwhile wait for it, and go if it found the tenant unpaused. */
  private reading?: Promise<ExternalDecision>;

  constructor(
    readonly store: TenantPacingStore,
    private readonly settings: TenantPolicy & {
      /** ACCEPTED_DOMAINS; when unset every recipient counts as external (the safe side). */
      acceptedDomains?: readonly string[];
    },
    private readonly clock: Clock,
    private readonly random: () => number = Math.random,
  ) {}

  /** The recipients outside the tenant's accepted domains. */
  externalOf(addresses: readonly string[]): string[] {
    const accepted = this.settings.acceptedDomains;
    if (!accepted) return [...addresses];
    const internal = new Set(accepted.map((d) => d.toLowerCase()));
    return addresses.filter((a) => !internal.has(domainOf(a)));
  }

  /** For a message with external recipients: go on, probe, or wait. Writes only while the tenant is paused. */
  async admit(): Promise<ExternalDecision> {
    const now = this.now();
    if (
      this.unpausedAt !== undefined &&
      now - this.unpausedAt >= 0 &&
      now - this.unpausedAt < unpausedBeliefMs
    )
      return { kind: "go" };
    // Messages that set out together share one read of an unpaused tenant; a paused one decides each alone
    // (one of them may probe).
    const under = this.reading;
    if (under && (await under.catch(() => undefined))?.kind === "go") return { kind: "go" };
    const reading = this.decide(now);
    this.reading = reading;
    try {
      return await reading;
    } finally {
      if (this.reading === reading) this.reading = undefined;
    }
  }

  private async decide(now: number): Promise<ExternalDecision> {
    const leaseId = randomBytes(6).toString("base64url");
    const jitter = this.random();
    const decision = await this.store.update((current) => {
      const next = decideExternal(current, now, { leaseId, jitter }, this.settings);
      return { state: next.changed ? next.state : undefined, result: next.decision };
    });
    this.unpausedAt = decision.kind === "go" ? now : undefined;
    return decision;
  }

  /** A send was refused with 550 5.7.233: the tenant pauses external sending; resolves to the message's next time. */
  async refused(request: { leaseId?: string; reason: string; mailbox: string }): Promise<number> {
    const now = this.now();
    const jitter = this.random();
    this.unpausedAt = undefined;
    return this.store.update((current) => {
      const next = externalRefused(current, now, { ...request, jitter }, this.settings);
      return { state: next.state, result: next.plannedAt };
    });
  }

  /** A probe ended: `delivered` lifts the pause; otherwise the next waiting message probes. */
  async probeFinished(leaseId: string, delivered: boolean): Promise<void> {
    await this.store.update((current) => {
      const next = probeFinished(current, leaseId, delivered);
      return { state: next.changed ? next.state : undefined, result: undefined };
    });
  }

  /** The tenant's pause, read afresh, for the quota view. */
  async view(): Promise<TenantView | undefined> {
    return tenantView(await this.store.get());
  }

  private now(): number {
    return this.clock.now().getTime();
  }
}
