import { TableClient } from "@azure/data-tables";
import { describe, expect, it } from "vitest";
import { emptyPacingState, type PacingState } from "../../shared/pacing/state.js";
import { decideExternal, externalRefused, type TenantPacingState } from "../../shared/pacing/tenant.js";
import { AzureTablePacingStore } from "../../shared/storage/azure/tablePacingStore.js";
import { AzureTableTenantPacingStore } from "../../shared/storage/azure/tableTenantPacingStore.js";
import { MemoryPacingStore } from "../../shared/storage/memory/pacingStore.js";
import { MemoryTenantPacingStore } from "../../shared/storage/memory/tenantPacingStore.js";
import {
  PacingContentionError,
  type PacingStore,
  type TenantPacingStore,
} from "../../shared/storage/ports.js";
import { storageConnection, uniqueStorageNames } from "../support/env.js";

const fastRetries = {
  maxAttempts: 12,
  baseBackoffMs: 2,
  maxBackoffMs: 20,
  sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)),
};

/**
 * An adapter's instances over one backend: each call is another process's store (the Table adapter's each hold
 * their own remembered ETags and group their own concurrent changes); the in-memory fake is one shared store
 * that interleaves its callers instead.
 */
type Instances = () => PacingStore;

async function tableStore(options = fastRetries): Promise<Instances> {
  const table = TableClient.fromConnectionString(storageConnection(), uniqueStorageNames().pacing, {
    allowInsecureConnection: true,
  });
  await table.createTable();
  return () => new AzureTablePacingStore(table, options);
}

const adapters: [string, (options?: typeof fastRetries) => Promise<Instances>][] = [
  [
    "in-memory fake",
    async (options = fastRetries) => {
      const store = new MemoryPacingStore(options);
      return () => store;
    },
  ],
  ["Azure Table (Azurite)", tableStore],
];

const counted = (state: PacingState | undefined): PacingState => {
  const base = state ?? emptyPacingState();
  return { ...base, bookedRecipients: base.bookedRecipients + 1 };
};

describe.each(adapters)("pacing store contract: %s", (_name, create) => {
  it("has no state for a new mailbox, creates one on the first update and reads it back", async () => {
    const store = (await create())();
    expect(await store.get("new@contoso.com")).toBeUndefined();
    const result = await store.update("new@contoso.com", (current) => ({
      state: counted(current),
      result: "ok",
    }));
    expect(result).toBe("ok");
    expect(await store.get("new@contoso.com")).toEqual({ ...emptyPacingState(), bookedRecipients: 1 });
  });

  it("writes nothing when the change returns no state, and hands back its result", async () => {
    const store = (await create())();
    const before = store.counters.writes;
    expect(await store.update("idle@contoso.com", () => ({ result: 42 }))).toBe(42);
    expect(store.counters.writes).toBe(before);
    expect(await store.get("idle@contoso.com")).toBeUndefined();
  });

  it("loses no update when many instances change one mailbox at once (optimistic concurrency)", async () => {
    const instance = await create();
    const stores = Array.from({ length: 12 }, () => instance());
    await Promise.all(
      stores.map((store) => store.update("busy@contoso.com", (c) => ({ state: counted(c), result: 0 }))),
    );
    expect((await instance().get("busy@contoso.com"))?.bookedRecipients).toBe(12);
    const conflicts = [...new Set(stores)].reduce((sum, store) => sum + store.counters.conflicts, 0);
    expect(conflicts).toBeGreaterThan(0);
  }, 20_000);

  it("applies one instance's concurrent changes of a mailbox one after the other, each with its own result", async () => {
    const store = (await create())();
    const before = await Promise.all(
      Array.from({ length: 12 }, () =>
        store.update("queue@contoso.com", (c) => ({ state: counted(c), result: c?.bookedRecipients ?? 0 })),
      ),
    );
    // Each change saw the state the ones before it left: every count from 0 to 11 once.
    expect([...before].sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect((await store.get("queue@contoso.com"))?.bookedRecipients).toBe(12);
  }, 20_000);

  it("writes an update after its own last write without reading first, and reads again when another instance wrote", async () => {
    const instance = await create();
    const [mine, other] = [instance(), instance()];
    await mine.update("seq@contoso.com", (c) => ({ state: counted(c), result: 0 }));
    const readsBefore = mine.counters.reads;
    await mine.update("seq@contoso.com", (c) => ({ state: counted(c), result: 0 }));
    const readsAlone = mine.counters.reads - readsBefore;
    await other.update("seq@contoso.com", (c) => ({ state: counted(c), result: 0 }));
    await mine.update("seq@contoso.com", (c) => ({ state: counted(c), result: 0 }));
    expect((await mine.get("seq@contoso.com"))?.bookedRecipients).toBe(4);
    // The fake has no memory of its own to go stale; the Table adapter remembers its last ETag.
    if (mine !== other) expect(readsAlone).toBe(0);
  });

  it("treats addresses case-insensitively and keeps key-unsafe characters apart", async () => {
    const store = (await create())();
    await store.update("Odd#Name/x?y@Contoso.com", (c) => ({ state: counted(c), result: 0 }));
    await store.update("odd#name/x?y@contoso.com", (c) => ({ state: counted(c), result: 0 }));
    expect((await store.get("ODD#NAME/X?Y@CONTOSO.COM"))?.bookedRecipients).toBe(2);
    expect(await store.get("odd#name@contoso.com")).toBeUndefined();
  });

  it("gives up with PacingContentionError after its bounded attempts, storing nothing for that call", async () => {
    const instance = await create({ ...fastRetries, maxAttempts: 1 });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 12 }, () =>
        instance().update("hot@contoso.com", (c) => ({ state: counted(c), result: 0 })),
      ),
    );
    const lost = outcomes.filter((o) => o.status === "rejected");
    expect(lost.length).toBeGreaterThan(0);
    for (const o of lost) expect((o as PromiseRejectedResult).reason).toBeInstanceOf(PacingContentionError);
    expect((await instance().get("hot@contoso.com"))?.bookedRecipients).toBe(12 - lost.length);
  });
});

async function tenantTableStore(options = fastRetries): Promise<TenantPacingStore> {
  const table = TableClient.fromConnectionString(storageConnection(), uniqueStorageNames().pacing, {
    allowInsecureConnection: true,
  });
  await table.createTable();
  return new AzureTableTenantPacingStore(table, options);
}

const tenantAdapters: [string, () => Promise<TenantPacingStore>][] = [
  ["in-memory fake", async () => new MemoryTenantPacingStore(fastRetries)],
  ["Azure Table (Azurite)", tenantTableStore],
];

describe.each(tenantAdapters)("tenant pacing store contract: %s", (_name, create) => {
  const pausedBy = (mailbox: string) => (current: TenantPacingState | undefined) =>
    externalRefused(
      current,
      1000,
      { reason: `refused for ${mailbox}`, mailbox, jitter: 0 },
      {
        probeIntervalMs: 60_000,
        leaseMs: 30_000,
      },
    ).state;

  it("starts empty, stores a pause once, and keeps the first refusal when many instances report at once", async () => {
    const store = await create();
    expect(await store.get()).toBeUndefined();
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        store.update((current) => ({ state: pausedBy(`m${i}@contoso.com`)(current), result: i })),
      ),
    );
    const state = await store.get();
    expect(state?.external?.since).toBe(1000);
    expect(state?.external?.mailbox).toMatch(/^m\d@contoso\.com$/);
    expect(state?.external?.reason).toBe(`refused for ${state?.external?.mailbox}`);
  }, 20_000);

  it("grants one probe among instances asking at once", async () => {
    const store = await create();
    await store.update((current) => ({ state: pausedBy("a@contoso.com")(current), result: 0 }));
    const policy = { probeIntervalMs: 60_000, leaseMs: 30_000 };
    const decisions = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        store.update((current) => {
          const next = decideExternal(current, 120_000, { leaseId: `l${i}`, jitter: 0.5 }, policy);
          return { state: next.changed ? next.state : undefined, result: next.decision.kind };
        }),
      ),
    );
    expect(decisions.filter((kind) => kind === "probe")).toHaveLength(1);
    expect(decisions.filter((kind) => kind === "wait")).toHaveLength(7);
  }, 20_000);
});
