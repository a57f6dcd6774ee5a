/**
 * The tenant external recipient rate limit (TERRL), as pure functions of (state, now, request).
 *
 * Exchange Online caps the external recipients of a whole tenant in any rolling 24 hours and answers
 * `550 5.7.233` beyond it (https://techcommunity.microsoft.com/blog/exchange/introducing-exchange-online-tenant-outbound-email-limits/4372797).
 * That is throttling, not a message failure: external sending pauses for every mailbox of the tenant, internal
 * mail keeps flowing. Microsoft gives no time: the pause lasts until a probe (one message with external
 * recipients, one at a time) goes through. Waiting messages wake spread over a part of the probe interval,
 * so a backlog never wakes at once.
 */
import { z } from "zod";

const ms = z.number().int().nonnegative();

/** Tenant-wide pacing state; one Table entity per deployment (one tenant). Version 1. */
export const tenantPacingStateSchema = z.object({
  v: z.literal(1),
  /** Set while the tenant is over its external recipient limit. */
  external: z
    .object({
      /** When the first refusal was seen. */
      since: ms,
      /** No probe before this. */
      until: ms,
      /** The provider's answer, for the quota view and status reasons. */
      reason: z.string().max(1024),
      /** The mailbox whose send was refused first. */
      mailbox: z.string().max(320),
      /** The one message testing whether external mail goes again: its lease id and lease end. */
      probe: z.object({ l: z.string().max(32), e: ms }).optional(),
    })
    .optional(),
});
export type TenantPacingState = z.infer<typeof tenantPacingStateSchema>;

/** How the tenant pause behaves (`TENANT_EXTERNAL_PROBE_MINUTES`, lease as for mailboxes). */
export interface TenantPolicy {
  /** Time between probes while the tenant stays over its limit. */
  probeIntervalMs: number;
  /** How long a probe holds its lease when its dispatcher never reports back (a crash). */
  leaseMs: number;
}

/** What a dispatcher asks before reserving a mailbox slot for a message with external recipients. */
export interface ExternalRequest {
  /** Names the probe lease, should this message become the probe. */
  leaseId: string;
  /** [0, 1): where in the wake-up spread this message falls (Math.random in production). */
  jitter: number;
}

export type ExternalDecision =
  /** No pause: go on to the mailbox's own pacing. */
  | { kind: "go" }
  /** Paused, and this message is the probe: send it; report how it went with the same lease id. */
  | { kind: "probe"; leaseId: string }
  /** Paused: come back at `until`. */
  | { kind: "wait"; until: number; since: number; reason: string };

/** What the quota view shows of the tenant. */
export interface TenantView {
  externalPausedSince: number;
  /** When the next probe may go (a past time: the next message with external recipients probes). */
  nextProbeAt: number;
  reason: string;
  mailbox: string;
}

// Waiting messages wake spread over this share of the probe interval after it ends.
const spreadShare = 0.25;
// While a probe is out, others look again this long after (twice at most, with jitter): a probe takes seconds.
const probeRetryMs = 30_000;

const emptyState = (): TenantPacingState => ({ v: 1 });

/** Whether a message with external recipients may go now, must probe, or waits. Pure. */
export function decideExternal(
  current: TenantPacingState | undefined,
  now: number,
  request: ExternalRequest,
  policy: TenantPolicy,
): { decision: ExternalDecision; state: TenantPacingState; changed: boolean } {
  const state = current ?? emptyState();
  const pause = state.external;
  if (!pause) return { decision: { kind: "go" }, state, changed: false };
  const wait = (until: number) => ({
    decision: { kind: "wait", until, since: pause.since, reason: pause.reason } as const,
    state,
    changed: false,
  });
  if (now < pause.until) {
    return wait(pause.until + Math.floor(request.jitter * spreadShare * policy.probeIntervalMs));
  }
  if (pause.probe && pause.probe.e > now) {
    const retryMs = Math.min(probeRetryMs, spreadShare * policy.probeIntervalMs);
    return wait(now + Math.floor(retryMs * (1 + request.jitter)));
  }
  return {
    decision: { kind: "probe", leaseId: request.leaseId },
    state: { ...state, external: { ...pause, probe: { l: request.leaseId, e: now + policy.leaseMs } } },
    changed: true,
  };
}

/**
 * Records a `550 5.7.233`: the tenant pauses external sending (or stays paused), and the refused message is
 * planned for after the pause (`plannedAt`). A refused probe moves the next probe one interval on.
 */
export function externalRefused(
  current: TenantPacingState | undefined,
  now: number,
  request: { leaseId?: string; reason: string; mailbox: string; jitter: number },
  policy: TenantPolicy,
): { state: TenantPacingState; plannedAt: number } {
  const state = current ?? emptyState();
  const prior = state.external;
  const wasProbe = prior?.probe !== undefined && prior.probe.l === request.leaseId;
  // A refusal of a message that set out before the pause was known keeps the pause as it is.
  const until = prior && !wasProbe && prior.until > now ? prior.until : now + policy.probeIntervalMs;
  const { probe: _probe, ...rest } = prior ?? {};
  const keepProbe = prior?.probe && !wasProbe ? { probe: prior.probe } : {};
  const external = {
    ...rest,
    since: prior?.since ?? now,
    until,
    reason: prior?.reason ?? request.reason.slice(0, 1024),
    mailbox: prior?.mailbox ?? request.mailbox.toLowerCase().slice(0, 320),
    ...keepProbe,
  };
  return {
    state: { ...state, external },
    plannedAt: until + Math.floor(request.jitter * spreadShare * policy.probeIntervalMs),
  };
}

/**
 * Reports how a probe ended. `delivered`: external mail goes again, the pause ends. Otherwise (the mailbox
 * had no slot, a transient or unrelated failure) the lease ends and the next waiting message probes.
 * Another message's lease, or no pause at all, leaves the state as it is.
 */
export function probeFinished(
  current: TenantPacingState | undefined,
  leaseId: string,
  delivered: boolean,
): { state: TenantPacingState; changed: boolean } {
  const state = current ?? emptyState();
  const pause = state.external;
  if (!pause?.probe || pause.probe.l !== leaseId) return { state, changed: false };
  if (delivered) return { state: { v: 1 }, changed: true };
  const { probe: _probe, ...rest } = pause;
  return { state: { ...state, external: rest }, changed: true };
}

/** The tenant's pause, if any, for the quota view. */
export function tenantView(current: TenantPacingState | undefined): TenantView | undefined {
  const pause = current?.external;
  if (!pause) return undefined;
  return {
    externalPausedSince: pause.since,
    nextProbeAt: pause.until,
    reason: pause.reason,
    mailbox: pause.mailbox,
  };
}
