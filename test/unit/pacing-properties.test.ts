import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { oneMailbox, ruleMinimumMs, type SimMessage, simulate } from "../../bench/pacing.js";

const second = 1000;

/** Random arrival patterns: bursts of messages at random times, over a few mailboxes. */
const arrivals = (mailboxes: number, maxBursts: number, maxBurst: number, spanMs: number) =>
  fc
    .array(
      fc.record({
        mailbox: fc.integer({ min: 0, max: mailboxes - 1 }),
        at: fc.integer({ min: 0, max: spanMs }),
        size: fc.integer({ min: 1, max: maxBurst }),
        recipients: fc.integer({ min: 1, max: 40 }),
        spreadMs: fc.integer({ min: 0, max: 20 * second }),
      }),
      { minLength: 1, maxLength: maxBursts },
    )
    .map((bursts) =>
      bursts.flatMap((b) =>
        Array.from(
          { length: b.size },
          (_, k): SimMessage => ({
            mailbox: `m${b.mailbox}@contoso.com`,
            arrivalMs: b.at + Math.floor((k * b.spreadMs) / b.size),
            recipients: b.recipients,
          }),
        ),
      ),
    );

const totalRecipients = (messages: SimMessage[]) => messages.reduce((sum, m) => sum + m.recipients, 0);

describe("pacing properties (fake-clock simulation of the real dispatcher)", () => {
  it("never exceeds a rolling window, the recipient limit or the concurrency limit, and delivers everything once, whatever the sends take", async () => {
    await fc.assert(
      fc.asyncProperty(
        arrivals(3, 6, 60, 10 * 60 * second),
        fc.record({
          messagesPerWindow: fc.integer({ min: 2, max: 30 }),
          recipientsPerWindow: fc.integer({ min: 400, max: 3000 }),
          concurrency: fc.integer({ min: 1, max: 4 }),
          dispatchers: fc.integer({ min: 1, max: 6 }),
          skewMs: fc.integer({ min: 0, max: 2 * second }),
          maxLatencyMs: fc.integer({ min: 1, max: 3 * second }),
          // Late finishes (an upload session, a retry inside the transport): the provider has the message only
          // at the end, up to 50 s after the start, within the 60 s lease.
          lateRate: fc.constantFrom(0, 0, 0.05),
          crashRate: fc.constantFrom(0, 0, 0.05),
          smooth: fc.boolean(),
          seed: fc.integer(),
        }),
        async (messages, o) => {
          const result = await simulate({
            messages,
            settings: {
              messagesPerWindow: o.messagesPerWindow,
              recipientsPerWindow: o.recipientsPerWindow,
              concurrency: o.concurrency,
              clockSkewMs: o.skewMs,
              leaseMs: 60 * second,
              smooth: o.smooth,
            },
            dispatchers: o.dispatchers,
            skewMs: o.skewMs,
            latencyMs: [0, o.maxLatencyMs],
            lateRate: o.lateRate,
            lateMs: [5 * second, 50 * second],
            crashRate: o.crashRate,
            // Long enough for every recipient to fit the 24 h limit, with a day to spare.
            durationMs:
              (Math.ceil(totalRecipients(messages) / o.recipientsPerWindow) + 2) * 24 * 3600 * second,
            seed: o.seed,
          });
          expect(result.violations).toEqual({ messages: 0, recipients: 0, concurrency: 0, uploads: 0 });
          expect(result.duplicates).toBe(0);
          expect(result.undelivered).toBe(0);
          expect(result.poisoned).toBe(0);
          // Bounded cost: intake 2, one deferral ≈ 6, the send ≈ 9; a crash or a re-booking adds a round.
          // The mean stays flat whatever the backlog (measured 16–21). The worst single message has a tail:
          // with one connection and sends nearly as slow as the slot spacing, a booked message can lose the
          // connection a few times in a row (measured up to 62 operations in a 150-message backlog), so the
          // maximum is only guarded against runaway loops here.
          expect(result.opsPerMessage.mean).toBeLessThanOrEqual(o.crashRate + o.lateRate > 0 ? 40 : 30);
          expect(result.opsPerMessage.max).toBeLessThanOrEqual(150);
        },
      ),
      { numRuns: 25 },
    );
  }, 120_000);

  it("sends at ≥ 95% of the limit while backlogged, and wakes each waiting message about once", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 90, max: 400 }),
        fc.integer({ min: 10, max: 30 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer(),
        async (backlog, messagesPerWindow, dispatchers, seed) => {
          const messages = Array.from({ length: backlog }, (_, k) => ({
            mailbox: "reminders@contoso.com",
            arrivalMs: Math.floor(k / 50) * second,
            recipients: 1,
          }));
          const result = await simulate({
            messages,
            settings: { messagesPerWindow, clockSkewMs: 0 },
            dispatchers,
            latencyMs: [100, 600],
            pollDelayMs: 1000,
            durationMs: 24 * 3600 * second,
            seed,
          });
          expect(result.undelivered).toBe(0);
          expect(result.utilization).toBeGreaterThanOrEqual(0.95);
          expect(result.opsPerMessage.max).toBeLessThanOrEqual(30);
        },
      ),
      { numRuns: 15 },
    );
  }, 120_000);

  it("starts an idle mailbox's burst as fast as its connections go, not one send per spacing", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          messagesPerWindow: fc.integer({ min: 2, max: 30 }),
          burst: fc.integer({ min: 1, max: 30 }),
          concurrency: fc.integer({ min: 1, max: 4 }),
          dispatchers: fc.integer({ min: 1, max: 6 }),
          skewMs: fc.integer({ min: 0, max: second }),
          sendMs: fc.integer({ min: 10, max: 200 }),
          seed: fc.integer(),
        }),
        async (o) => {
          const n = Math.min(o.burst, o.messagesPerWindow);
          const result = await simulate({
            messages: Array.from({ length: n }, () => ({
              mailbox: "app@contoso.com",
              arrivalMs: 0,
              recipients: 1,
            })),
            settings: {
              messagesPerWindow: o.messagesPerWindow,
              concurrency: o.concurrency,
              clockSkewMs: o.skewMs,
            },
            dispatchers: o.dispatchers,
            skewMs: o.skewMs,
            latencyMs: [o.sendMs, o.sendMs],
            pollDelayMs: 100,
            durationMs: 3600 * second,
            seed: o.seed,
          });
          expect(result.violations).toEqual({ messages: 0, recipients: 0, concurrency: 0, uploads: 0 });
          expect(result.undelivered).toBe(0);
          // The whole burst fits the window, so only the connections pace it: one group of `concurrency` sends
          // per planned send (twice the slowest, at least 100 ms), plus polling and the queue's whole seconds
          // for a message that had to go back to it. Even spacing would take (n − concurrency) × 2 s.
          const lastStartMs = Math.max(...result.deliveries.map((d) => d.startMs));
          const groups = Math.ceil(n / o.concurrency);
          expect(lastStartMs).toBeLessThanOrEqual(100 + groups * (2 * o.sendMs + 100) + 2 * second);
        },
      ),
      { numRuns: 40 },
    );
  }, 120_000);

  it("drains a backlog of 150 within 1.05 × the least time the rolling window allows (50 ms sends)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("graph", "smtp"),
        fc.integer({ min: 1, max: 6 }),
        fc.integer(),
        async (transport, dispatchers, seed) => {
          // Between waves the queue looks empty, so polling backs off to host.json's maxPollingInterval (2 s).
          const { latenciesMs, result } = await oneMailbox(150, {
            smooth: false,
            seed,
            pollDelayMs: 2000,
            transport,
            dispatchers,
          });
          expect(result.violations).toEqual({ messages: 0, recipients: 0, concurrency: 0, uploads: 0 });
          expect(result.undelivered).toBe(0);
          const drainMs = Math.max(...latenciesMs);
          expect(drainMs).toBeGreaterThanOrEqual(ruleMinimumMs(150));
          expect(drainMs).toBeLessThanOrEqual(1.05 * ruleMinimumMs(150));
        },
      ),
      { numRuns: 10 },
    );
  }, 120_000);

  it("keeps a run of large Graph scans inside 150 MB per 5 minutes per mailbox, delivering every one", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            mailbox: fc.integer({ min: 0, max: 1 }),
            at: fc.integer({ min: 0, max: 10 * 60 * second }),
            // From a small message to a 35 MB scan (its base64 or upload-session bytes).
            uploadBytes: fc.integer({ min: 10_000, max: 47_000_000 }),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 1000 }),
        fc.integer(),
        async (scans, dispatchers, skewMs, seed) => {
          const messages: SimMessage[] = scans.map((s) => ({
            mailbox: `scanner${s.mailbox}@contoso.com`,
            arrivalMs: s.at,
            recipients: 1,
            uploadBytes: s.uploadBytes,
          }));
          const totalBytes = scans.reduce((sum, s) => sum + s.uploadBytes, 0);
          const result = await simulate({
            messages,
            transport: "graph",
            settings: { clockSkewMs: skewMs },
            dispatchers,
            skewMs,
            latencyMs: [200, 4000],
            // Each mailbox needs at most totalBytes / 150 MB windows of 5 minutes; two hours to spare.
            durationMs: (Math.ceil(totalBytes / 150_000_000) + 1) * 6 * 60 * second + 2 * 3600 * second,
            seed,
          });
          expect(result.violations).toEqual({ messages: 0, recipients: 0, concurrency: 0, uploads: 0 });
          expect(result.duplicates).toBe(0);
          expect(result.undelivered).toBe(0);
          expect(result.opsPerMessage.max).toBeLessThanOrEqual(150);
        },
      ),
      { numRuns: 20 },
    );
  }, 120_000);

  it("adds no delay to other mailboxes while one has a large backlog", async () => {
    const backlog = Array.from({ length: 1500 }, () => ({
      mailbox: "reminders@contoso.com",
      arrivalMs: 0,
      recipients: 1,
    }));
    const others = Array.from({ length: 60 }, (_, k) => ({
      mailbox: `scanner${k % 20}@contoso.com`,
      arrivalMs: 5 * second + k * 37 * second,
      recipients: 2,
    }));
    const result = await simulate({
      messages: [...backlog, ...others],
      dispatchers: 4,
      skewMs: 500,
      latencyMs: [100, 800],
      pollDelayMs: 1000,
      durationMs: 3 * 3600 * second,
      seed: 3,
    });
    expect(result.violations).toEqual({ messages: 0, recipients: 0, concurrency: 0, uploads: 0 });
    expect(result.undelivered).toBe(0);
    // Beyond its own arrival, a scanner's message waits only for polling (≤ 1 s) and the queue's whole seconds.
    expect(result.extraWaitOthersMs.max).toBeLessThanOrEqual(2 * second);
    expect(result.extraWaitMs.max).toBeGreaterThan(60 * second); // the backlog itself does wait
  }, 60_000);
});
