/**
 * Fake-clock simulation of the real dispatcher (`shared/app/dispatchMessage.ts`) and pacer over in-memory
 * stores: several dispatcher instances with skewed clocks, a queue with whole-second visibility delays and
 * polling delay, sends with latency, crashes between reservation and send. The unit tests run it small and
 * assert; `npm run bench -- pacing` runs one simulated day and reports.
 */
import { performance } from "node:perf_hooks";
import { Readable } from "node:stream";
import { dispatchMessage } from "../shared/app/dispatchMessage.js";
import { MailboxPacer } from "../shared/app/mailboxPacer.js";
import type { DispatchDeps } from "../shared/app/services.js";
import { TenantPacer } from "../shared/app/tenantPacer.js";
import type { TransportName } from "../shared/domain/client.js";
import { encodeEnvelope, type QueueEnvelope } from "../shared/domain/envelope.js";
import type { StoredMessage } from "../shared/domain/message.js";
import type { OutboundMessage } from "../shared/domain/outbound.js";
import type { StatusRecord } from "../shared/domain/statusRecord.js";
import { type Logger, silentLogger } from "../shared/log.js";
import { defaultPacingSettings, graphUploadWindowMs, type PacingSettings } from "../shared/pacing/limits.js";
import { MemoryPacingStore } from "../shared/storage/memory/pacingStore.js";
import { MemoryTenantPacingStore } from "../shared/storage/memory/tenantPacingStore.js";
import type {
  Clock,
  MessageStore,
  OutboundQueue,
  PacingStore,
  StatusStore,
  TenantPacingStore,
} from "../shared/storage/ports.js";
import type { SendOutcome } from "../shared/transport/outcome.js";
import type { Transport } from "../shared/transport/transport.js";
import { printTable } from "./table.js";

/** A deterministic PRNG (mulberry32), so a failing run can be replayed from its seed. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Simulated time with timers; `run` advances from timer to timer, letting promise chains settle in between. */
class Scheduler {
  nowMs = 0;
  private heap: { at: number; seq: number; fire: () => void }[] = [];
  private seq = 0;

  at(atMs: number, fire: () => void): void {
    const item = { at: Math.max(atMs, this.nowMs), seq: this.seq++, fire };
    const h = this.heap;
    h.push(item);
    for (let i = h.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (before(h[parent]!, h[i]!)) break;
      [h[parent], h[i]] = [h[i]!, h[parent]!];
      i = parent;
    }
  }

  sleep = (ms: number): Promise<void> => new Promise((resolve) => this.at(this.nowMs + ms, resolve));

  async run(untilMs: number): Promise<void> {
    const h = this.heap;
    while (h.length > 0 && h[0]!.at <= untilMs) {
      const top = h[0]!;
      const last = h.pop()!;
      if (h.length > 0) {
        h[0] = last;
        for (let i = 0; ; ) {
          const l = 2 * i + 1;
          const r = l + 1;
          let m = i;
          if (l < h.length && before(h[l]!, h[m]!)) m = l;
          if (r < h.length && before(h[r]!, h[m]!)) m = r;
          if (m === i) break;
          [h[m], h[i]] = [h[i]!, h[m]!];
          i = m;
        }
      }
      this.nowMs = top.at;
      top.fire();
      // Every continuation of this event is a microtask (the stores are in memory): one macrotask settles them.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}

const before = (a: { at: number; seq: number }, b: { at: number; seq: number }) =>
  a.at < b.at || (a.at === b.at && a.seq < b.seq);

export interface SimMessage {
  mailbox: string;
  arrivalMs: number;
  recipients: number;
  /** Bytes the send uploads (Graph's 150 MB per 5 minutes); only with `transport: "graph"`. */
  uploadBytes?: number;
}

export interface SimOptions {
  messages: SimMessage[];
  settings?: Partial<PacingSettings>;
  transport?: TransportName;
  /** Dispatcher instances, each with its own clock offset in [-skewMs/2, +skewMs/2]. */
  dispatchers?: number;
  skewMs?: number;
  /** Send latency, uniform in [min, max]; the provider has the message at a uniform moment within it. */
  latencyMs?: [number, number];
  /**
   * Probability that a send finishes late (a Graph upload session, a retry inside the transport): it takes a time
   * uniform in `lateMs` instead, and the provider has the message only at its end (the worst case for the window).
   */
  lateRate?: number;
  lateMs?: [number, number];
  /** Delay between a queue message becoming visible and a dispatcher picking it up, uniform in [0, max]. */
  pollDelayMs?: number;
  /** Probability that a dispatcher dies between reserving and sending (the message comes back after 10 min). */
  crashRate?: number;
  /** Simulated time to run for (ms); messages still waiting then count as undelivered. */
  durationMs: number;
  seed?: number;
  /** Receives the dispatcher's log lines, with the simulated time. */
  log?: Logger;
}

export interface Delivery {
  id: string;
  mailbox: string;
  /** When the provider received it (uniform within the send). */
  arrivalMs: number;
  startMs: number;
  endMs: number;
  recipients: number;
  uploadBytes: number;
}

export interface SimResult {
  messages: number;
  delivered: number;
  duplicates: number;
  undelivered: number;
  violations: { messages: number; recipients: number; concurrency: number; uploads: number };
  /** Sends per window while backlogged, as a fraction of the limit (1 = at the limit); NaN when never backlogged. */
  utilization: number;
  opsPerMessage: { mean: number; max: number };
  /** Wait beyond the ideal schedule (the limit met exactly, no latency), ms; `others` excludes backlogged mailboxes. */
  extraWaitMs: { p50: number; p99: number; max: number };
  extraWaitOthersMs: { p50: number; p99: number; max: number };
  poisoned: number;
  runtimeMs: number;
  /** Every delivery, for a closer look at a failing run. */
  deliveries: Delivery[];
}

/** Runs the dispatcher against a simulated queue, status store and provider. */
export async function simulate(options: SimOptions): Promise<SimResult> {
  const started = performance.now();
  const rng = random(options.seed ?? 1);
  const settings: PacingSettings = { ...defaultPacingSettings, ...options.settings };
  const transportName = options.transport ?? "smtp";
  const sim = new Scheduler();
  const pacingStore = new MemoryPacingStore(undefined, false);
  const statuses = new Map<string, StatusRecord>();
  const ops = new Map<string, number>();
  const count = (id: string, n = 1) => ops.set(id, (ops.get(id) ?? 0) + n);
  const deliveries: Delivery[] = [];
  const uploadsOf = new Map<string, number>();
  let poisoned = 0;
  const [minLatency, maxLatency] = options.latencyMs ?? [200, 1500];
  const crashRate = options.crashRate ?? 0;
  const lateRate = options.lateRate ?? 0;
  const [minLate, maxLate] = options.lateMs ?? [10_000, 60_000];

  // The tenant's external recipient limit is never hit here, but these (external) messages pass its gate:
  // one tenant pacer per instance, as in production, its reads counted against the message being dispatched.
  const tenantStore = new MemoryTenantPacingStore(undefined, false);
  const tenantRng = random((options.seed ?? 1) + 1);
  /** The shared tenant store, each operation counted against the message `current` names. */
  const countedTenantStore = (current: { id: string }): TenantPacingStore => ({
    counters: tenantStore.counters,
    get: () => {
      count(current.id);
      return tenantStore.get();
    },
    update: (change) => {
      const before = tenantStore.counters.reads + tenantStore.counters.writes;
      const id = current.id;
      return tenantStore.update(change).finally(() => {
        count(id, tenantStore.counters.reads + tenantStore.counters.writes - before);
      });
    },
  });
  const instances = Array.from({ length: options.dispatchers ?? 4 }, () => {
    const offsetMs = ((rng() - 0.5) * (options.skewMs ?? 0)) | 0;
    const clock: Clock = { now: () => new Date(sim.nowMs + offsetMs) };
    const current = { id: "" };
    const tenant = new TenantPacer(
      countedTenantStore(current),
      { probeIntervalMs: 30 * 60_000, leaseMs: settings.leaseMs },
      clock,
      tenantRng,
    );
    return { clock, offsetMs, current, tenant };
  });

  const enqueue = (text: string, delayMs: number, dequeueCount = 1) => {
    // Azure queues: visibility in whole seconds; a poller notices a visible message a little later.
    const visibleAt = sim.nowMs + Math.ceil(Math.max(0, delayMs) / 1000) * 1000;
    sim.at(visibleAt + rng() * (options.pollDelayMs ?? 1000), () => void deliver(text, dequeueCount));
  };

  const deliver = async (text: string, dequeueCount: number) => {
    const envelope = JSON.parse(Buffer.from(text, "base64").toString("utf8")) as QueueEnvelope;
    const id = envelope.id;
    const instance = instances[Math.floor(rng() * instances.length)]!;
    // A crashed invocation never finishes: the queue shows the message again when its lease (10 min) ends.
    const crash = () => enqueue(text, 600_000, dequeueCount + 1);
    instance.current.id = id;
    const deps = dispatchDeps(id, instance.clock, instance.tenant, crash);
    try {
      await dispatchMessage(envelope, deps);
    } catch {
      // Transient: the queue makes it visible again after host.json's visibilityTimeout (30 s), up to 5 times.
      if (dequeueCount >= 5) poisoned++;
      else enqueue(text, 30_000, dequeueCount + 1);
    }
  };

  const dispatchDeps = (id: string, clock: Clock, tenant: TenantPacer, crash: () => void): DispatchDeps => {
    const counted: PacingStore = {
      counters: pacingStore.counters,
      get: (mailbox) => {
        count(id);
        return pacingStore.get(mailbox);
      },
      update: (mailbox, change) => {
        const before = pacingStore.counters.reads + pacingStore.counters.writes;
        return pacingStore.update(mailbox, change).finally(() => {
          count(id, pacingStore.counters.reads + pacingStore.counters.writes - before);
        });
      },
      list: (limit) => pacingStore.list(limit),
    };
    const statusStore: StatusStore = {
      create: async () => {},
      scanByTime: async () => ({ entries: [] }),
      reindex: async () => ({ checked: 0, repaired: 0, done: true }),
      listStale: async () => [],
      listWithContent: async function* () {},
      delete: async () => {},
      get: async (_clientId, messageId) => {
        count(id);
        const record = statuses.get(messageId);
        return record && structuredClone(record);
      },
      update: async (_clientId, messageId, change) => {
        count(id, 2);
        const current = statuses.get(messageId);
        if (!current) return undefined;
        const next = change(structuredClone(current));
        if (next) statuses.set(messageId, next);
        return next ?? current;
      },
    };
    const queue: OutboundQueue = {
      send: async (text, sendOptions) => {
        count(id);
        enqueue(text, sendOptions?.delayMs ?? 0);
      },
      approximateCount: async () => 0,
    };
    const messages: MessageStore = {
      upload: async () => {},
      download: async () => Readable.from([]),
      deleteMessage: async () => {},
      list: async () => [],
      listStale: async function* () {},
    };
    const transport: Transport = {
      name: transportName,
      close: async () => {},
      ...(transportName === "graph" ? { uploadBytes: (m: OutboundMessage) => uploadsOf.get(m.id) ?? 0 } : {}),
      send: (message: OutboundMessage): Promise<SendOutcome> => {
        if (rng() < crashRate) {
          // The dispatcher dies here: the reservation is made, nothing is sent, nobody reports back.
          crash();
          return new Promise(() => {});
        }
        const startMs = sim.nowMs;
        const late = rng() < lateRate;
        const latencyMs = late
          ? minLate + rng() * (maxLate - minLate)
          : minLatency + rng() * (maxLatency - minLatency);
        const arrivalMs = startMs + (late ? latencyMs : rng() * latencyMs);
        const record = statuses.get(message.id)!;
        return sim.sleep(latencyMs).then(() => {
          deliveries.push({
            id: message.id,
            mailbox: record.mailbox,
            arrivalMs,
            startMs,
            endMs: sim.nowMs,
            recipients: record.recipients,
            uploadBytes: uploadsOf.get(message.id) ?? 0,
          });
          return { kind: "sent" };
        });
      },
    };
    return {
      messages,
      statuses: statusStore,
      queue,
      transports: new Map([[transportName, transport]]),
      clock,
      log: options.log ?? silentLogger,
      pacer: new MailboxPacer(counted, settings, clock),
      tenant,
      sleep: sim.sleep,
      saveToSentItems: () => false,
    };
  };

  options.messages.forEach((m, i) => {
    const id = `m${i}`;
    if (m.uploadBytes) uploadsOf.set(id, m.uploadBytes);
    const stored: StoredMessage = {
      v: 1,
      id,
      clientId: "sim",
      from: { address: m.mailbox },
      to: [{ address: "someone@example.com" }],
      cc: [],
      bcc: [],
      replyTo: [],
      subject: "simulated",
      headers: {},
      attachments: [],
    };
    const at = new Date(m.arrivalMs).toISOString();
    statuses.set(id, {
      v: 2,
      id,
      clientId: "sim",
      status: "queued",
      transport: transportName,
      mailbox: m.mailbox,
      recipients: m.recipients,
      createdAt: at,
      updatedAt: at,
      attempts: 0,
      hasBlobs: false,
      timeline: [],
    });
    const envelope: QueueEnvelope = {
      v: 1,
      id,
      clientId: "sim",
      mailbox: m.mailbox,
      recipients: m.recipients,
      message: stored,
    };
    sim.at(m.arrivalMs, () => {
      count(id, 2); // intake: the status record and the queue message
      enqueue(encodeEnvelope(envelope), 0);
    });
  });
  await sim.run(options.durationMs);

  return {
    ...measure(options, settings, deliveries, ops),
    poisoned,
    runtimeMs: performance.now() - started,
    deliveries,
  };
}

function measure(
  options: SimOptions,
  settings: PacingSettings,
  deliveries: Delivery[],
  ops: Map<string, number>,
): Omit<SimResult, "poisoned" | "runtimeMs" | "deliveries"> {
  const windowMs = settings.messageWindowMs;
  const dayMs = 24 * 3600_000;
  const byMailbox = groupBy(deliveries, (d) => d.mailbox);
  const ids = new Set(deliveries.map((d) => d.id));
  const violations = { messages: 0, recipients: 0, concurrency: 0, uploads: 0 };
  const uploadBudget = options.transport === "graph" ? settings.graphUploadBytesPerWindow : undefined;
  for (const [mailbox, sent] of byMailbox) {
    const limit = settings.mailboxes[mailbox]?.messagesPerWindow ?? settings.messagesPerWindow;
    const concurrency = settings.concurrency ?? (options.transport === "graph" ? 4 : 3);
    const arrivals = sent.map((d) => d.arrivalMs).sort((a, b) => a - b);
    // At most `limit` arrivals in any window [t, t + windowMs).
    for (let i = limit; i < arrivals.length; i++)
      if (arrivals[i]! - arrivals[i - limit]! < windowMs) violations.messages++;
    const byArrival = [...sent].sort((a, b) => a.arrivalMs - b.arrivalMs);
    let first = 0;
    let total = 0;
    for (const d of byArrival) {
      total += d.recipients;
      while (byArrival[first]!.arrivalMs <= d.arrivalMs - dayMs) total -= byArrival[first++]!.recipients;
      if (total > settings.recipientsPerWindow) violations.recipients++;
    }
    if (uploadBudget !== undefined) {
      // At most the budget's bytes arriving in any 5 minutes (each send's bytes at its arrival).
      let head = 0;
      let bytes = 0;
      for (const d of byArrival) {
        bytes += d.uploadBytes;
        while (byArrival[head]!.arrivalMs <= d.arrivalMs - graphUploadWindowMs)
          bytes -= byArrival[head++]!.uploadBytes;
        if (bytes > uploadBudget) violations.uploads++;
      }
    }
    const edges = sent.flatMap((d) => [
      [d.startMs, 1],
      [d.endMs, -1],
    ]) as [number, number][];
    edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let open = 0;
    for (const [, step] of edges) {
      open += step;
      if (open > concurrency) violations.concurrency++;
    }
  }

  // The ideal schedule: each mailbox in arrival order, the message limit met exactly, nothing else.
  const extra: number[] = [];
  const extraOthers: number[] = [];
  let backlogSends = 0;
  let backlogCapacity = 0;
  const sentAt = new Map(deliveries.map((d) => [d.id, d.startMs]));
  const perMailbox = groupBy(
    options.messages.map((m, i) => ({ id: `m${i}`, mailbox: m.mailbox, arrivalMs: m.arrivalMs })),
    (m) => m.mailbox,
  );
  for (const [mailbox, list] of perMailbox) {
    const limit = settings.mailboxes[mailbox]?.messagesPerWindow ?? settings.messagesPerWindow;
    list.sort((a, b) => a.arrivalMs - b.arrivalMs);
    const ideal: number[] = [];
    for (const [k, m] of list.entries()) {
      ideal.push(Math.max(m.arrivalMs, k >= limit ? ideal[k - limit]! + windowMs : 0));
    }
    // Messages arriving together may go in any order: compare the k-th send with the k-th ideal send.
    const actual = list.flatMap((m) => sentAt.get(m.id) ?? []).sort((a, b) => a - b);
    const waits = actual.map((t, k) => Math.max(0, t - ideal[k]!));
    extra.push(...waits);
    const periods = backlogPeriods(list, ideal);
    if (periods.length === 0) extraOthers.push(...waits);
    for (const [a, b] of periods) {
      // Utilization while backlogged: sends after the backlog's first window until the ideal schedule
      // empties it, against what the limit allows in that time.
      if (b - a < 2 * windowMs) continue;
      backlogSends += actual.filter((t) => t > a + windowMs && t <= b).length;
      backlogCapacity += ((b - a - windowMs) / windowMs) * limit;
    }
  }
  const perMessage = options.messages.map((_, i) => ops.get(`m${i}`) ?? 0);
  return {
    messages: options.messages.length,
    delivered: ids.size,
    duplicates: deliveries.length - ids.size,
    undelivered: options.messages.length - ids.size,
    violations,
    utilization: backlogCapacity > 0 ? backlogSends / backlogCapacity : Number.NaN,
    opsPerMessage: {
      mean: perMessage.reduce((a, b) => a + b, 0) / Math.max(1, perMessage.length),
      max: Math.max(0, ...perMessage),
    },
    extraWaitMs: percentiles(extra),
    extraWaitOthersMs: percentiles(extraOthers),
  };
}

/** Intervals in which the ideal schedule has messages waiting (merged `[arrival, ideal send]` of those that wait). */
function backlogPeriods(
  list: readonly { arrivalMs: number }[],
  ideal: readonly number[],
): [number, number][] {
  const periods: [number, number][] = [];
  list.forEach((m, k) => {
    const at = ideal[k]!;
    if (at <= m.arrivalMs) return;
    const last = periods[periods.length - 1];
    if (last && m.arrivalMs <= last[1]) last[1] = Math.max(last[1], at);
    else periods.push([m.arrivalMs, at]);
  });
  return periods;
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(key(item));
    if (group) group.push(item);
    else groups.set(key(item), [item]);
  }
  return groups;
}

function percentiles(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] ?? 0 };
}

/** One simulated day: 1,000 mailboxes with mixed traffic, plus one mailbox receiving a 5,000-message burst. */
export function dayOfTraffic(seed: number, mailboxCount = 1000, burst = 5000): SimMessage[] {
  const rng = random(seed);
  const dayMs = 24 * 3600_000;
  const messages: SimMessage[] = [];
  const recipients = () => (rng() < 0.9 ? 1 + Math.floor(rng() * 3) : 5 + Math.floor(rng() * 50));
  for (let i = 0; i < mailboxCount; i++) {
    const mailbox = `mailbox${i}@contoso.com`;
    const kind = rng();
    // 70% scanners (a few a day), 25% apps (bursts of reminders), 5% busy apps (hundreds to a thousand).
    const bursts = kind < 0.7 ? 1 + Math.floor(rng() * 10) : kind < 0.95 ? 2 + Math.floor(rng() * 6) : 10;
    const size = () =>
      kind < 0.7 ? 1 : kind < 0.95 ? 5 + Math.floor(rng() * 40) : 20 + Math.floor(rng() * 150);
    for (let b = 0; b < bursts; b++) {
      const at = Math.floor(rng() * dayMs * 0.9);
      const n = size();
      for (let k = 0; k < n; k++)
        messages.push({ mailbox, arrivalMs: at + Math.floor(rng() * 5000), recipients: recipients() });
    }
  }
  const burstAt = 3600_000;
  for (let k = 0; k < burst; k++)
    messages.push({
      mailbox: "reminders@contoso.com",
      arrivalMs: burstAt + Math.floor(k / 100) * 1000,
      recipients: 1,
    });
  return messages;
}

/**
 * One mailbox's run as the issue measures it: Graph (4 connections), 50 ms sends, four dispatchers with
 * clocks up to 500 ms apart and the default 1 s skew margin, a queue trigger that notices a visible message
 * within `pollDelayMs`. `count` messages are submitted at t = 0 to an idle mailbox. Resolves to each message's
 * time from submission until the provider has it, in ms.
 */
export async function oneMailbox(
  count: number,
  options: {
    smooth: boolean;
    seed: number;
    pollDelayMs: number;
    sendMs?: number;
    transport?: TransportName;
    dispatchers?: number;
  },
): Promise<{ latenciesMs: number[]; result: SimResult }> {
  const sendMs = options.sendMs ?? 50;
  const result = await simulate({
    messages: Array.from({ length: count }, () => ({
      mailbox: "reminders@contoso.com",
      arrivalMs: 0,
      recipients: 1,
    })),
    transport: options.transport ?? "graph",
    settings: { smooth: options.smooth },
    dispatchers: options.dispatchers ?? 4,
    skewMs: 500,
    latencyMs: [sendMs, sendMs],
    pollDelayMs: options.pollDelayMs,
    durationMs: 3600_000,
    seed: options.seed,
  });
  return { latenciesMs: result.deliveries.map((d) => d.arrivalMs), result };
}

/** The least time the rolling-window rule allows for `count` messages: the last can go only (count−1)/N windows in. */
export function ruleMinimumMs(count: number, settings: PacingSettings = defaultPacingSettings): number {
  return Math.floor((count - 1) / settings.messagesPerWindow) * settings.messageWindowMs;
}

/** Bursts and drains, waves against even spacing (`PACING_SMOOTH=true`) in the same run. */
async function burstsAndDrains(): Promise<void> {
  const seeds = (n: number) => Array.from({ length: n }, (_, i) => 1000 + i);
  const s = (ms: number) => (ms / 1000).toFixed(2);
  const quantile = (values: number[], q: number) => {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  };
  const rows: Record<string, string | number>[] = [];
  let violations = 0;
  const measure = async (count: number, runs: number, smooth: boolean) => {
    const all: number[] = [];
    const last: number[] = [];
    for (const seed of seeds(runs)) {
      // A burst is fetched in batches as it arrives (the trigger polls again at once while it finds messages).
      const { latenciesMs, result } = await oneMailbox(count, { smooth, seed, pollDelayMs: 100 });
      all.push(...latenciesMs);
      last.push(Math.max(...latenciesMs));
      violations += result.violations.messages + result.violations.concurrency + result.undelivered;
    }
    return { p50: quantile(all, 0.5), p95: quantile(all, 0.95), last: quantile(last, 0.5) };
  };
  for (const count of [10, 30]) {
    const waves = await measure(count, 20, false);
    const even = await measure(count, 20, true);
    for (const [what, key] of [
      ["latency p50", "p50"],
      ["latency p95", "p95"],
      ["until the provider has the last (median run)", "last"],
    ] as const) {
      rows.push({
        measure: `burst of ${count} to an idle mailbox: ${what}`,
        "waves s": s(waves[key]),
        "even spacing s": s(even[key]),
        "even / waves": `${(even[key] / waves[key]).toFixed(1)}×`,
        "vs rule's minimum": "",
      });
    }
  }
  const drain = async (smooth: boolean) => {
    const times: number[] = [];
    for (const seed of seeds(5)) {
      // Between waves the queue looks empty, so the trigger's polling backs off to maxPollingInterval (2 s).
      const { latenciesMs, result } = await oneMailbox(150, { smooth, seed, pollDelayMs: 2000 });
      times.push(Math.max(...latenciesMs));
      violations += result.violations.messages + result.violations.concurrency + result.undelivered;
    }
    return quantile(times, 0.5);
  };
  const [wavesDrainMs, evenDrainMs] = [await drain(false), await drain(true)];
  const minimumMs = ruleMinimumMs(150);
  rows.push({
    measure: `drain of 150 (median of 5 runs; the rule allows ${s(minimumMs)} s at least)`,
    "waves s": s(wavesDrainMs),
    "even spacing s": s(evenDrainMs),
    "even / waves": `${(evenDrainMs / wavesDrainMs).toFixed(2)}×`,
    "vs rule's minimum": `${(wavesDrainMs / minimumMs).toFixed(3)}× (even ${(evenDrainMs / minimumMs).toFixed(3)}×)`,
  });
  printTable(
    `pacing: bursts and drains of one mailbox (simulated, fake clock: Graph, 50 ms sends, 4 dispatchers, ` +
      `queue polling within 100 ms during a burst, 2 s while draining; latency = submission until the provider has ` +
      `it; violations + undelivered: ${violations})`,
    rows,
  );
}

export async function run(): Promise<void> {
  await burstsAndDrains();
  const messages = dayOfTraffic(42);
  const result = await simulate({
    messages,
    dispatchers: 8,
    skewMs: 500,
    latencyMs: [200, 1500],
    pollDelayMs: 2000,
    crashRate: 0.001,
    durationMs: 30 * 3600_000,
    seed: 7,
  });
  const s = (ms: number) => (ms / 1000).toFixed(1);
  printTable(
    "pacing: one simulated day, 1,000 mailboxes + one 5,000-message burst (fake clock, 8 dispatchers)",
    [
      {
        messages: result.messages,
        delivered: result.delivered,
        duplicates: result.duplicates,
        "violations (msg/rcpt/conc/upload)": `${result.violations.messages}/${result.violations.recipients}/${result.violations.concurrency}/${result.violations.uploads}`,
        "utilization backlogged": `${(result.utilization * 100).toFixed(1)}%`,
        "ops/msg mean": result.opsPerMessage.mean,
        "ops/msg max": result.opsPerMessage.max,
        "extra wait p50/p99 s": `${s(result.extraWaitMs.p50)}/${s(result.extraWaitMs.p99)}`,
        "others p50/p99 s": `${s(result.extraWaitOthersMs.p50)}/${s(result.extraWaitOthersMs.p99)}`,
        "sim run time s": s(result.runtimeMs),
      },
    ],
  );
}
