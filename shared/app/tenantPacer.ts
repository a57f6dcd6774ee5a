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
 * The tenant's external recipient limit across every instance: which recipients are external, whether a
 * message with external ones may go, and what a refusal or a probe's end means. Decisions are the pure
 * functions of shared/pacing/tenant.ts over the shared store. Every message with external recipients reads
 * the tenant's record once (no cache: a pause one instance records holds the next message anywhere); only a
 * paused tenant is written to.
 */
export class TenantPacer {
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
    const leaseId = randomBytes(6).toString("base64url");
    const jitter = this.random();
    return this.store.update((current) => {
      const next = decideExternal(current, now, { leaseId, jitter }, this.settings);
      return { state: next.changed ? next.state : undefined, result: next.decision };
    });
  }

  /** A send was refused with 550 5.7.233: the tenant pauses external sending; resolves to the message's next time. */
  async refused(request: { leaseId?: string; reason: string; mailbox: string }): Promise<number> {
    const now = this.now();
    const jitter = this.random();
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
