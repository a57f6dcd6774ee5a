import { randomUUID } from "node:crypto";
import { ClientRegistry } from "../api/auth.js";
import type { ApiServices } from "../api/http.js";
import { callbackUrlOf, enqueueWebhook, type WebhookDeps } from "../app/deliverWebhook.js";
import { MailboxPacer } from "../app/mailboxPacer.js";
import type { DispatchDeps } from "../app/services.js";
import { TenantPacer } from "../app/tenantPacer.js";
import type { Config } from "../config.js";
import { jsonLogger, type Logger } from "../log.js";
import { azureStorage, type StorageNames, type StorageSavings } from "../storage/azure/account.js";
import { isStorageOutage } from "../storage/azure/restErrors.js";
import { AzureTablePacingStore, recentMailboxes } from "../storage/azure/tablePacingStore.js";
import { CoalescingCounters } from "../storage/coalescingCounters.js";
import { CountingStatusStore } from "../storage/countingStatusStore.js";
import { type Clock, systemClock } from "../storage/ports.js";
import { buildTransports } from "../transport/registry.js";

export interface ComposeOptions {
  /** Storage names; tests use unique ones. */
  storageNames?: StorageNames;
  clock?: Clock;
  /** Where process-wide problems go (a count the overview lost); one JSON line each on stderr by default. */
  log?: Logger;
  /** Storage request savings (on by default; the storage benchmark turns them off for its baseline). */
  savings?: StorageSavings;
}

/** The composition root: real adapters built from validated configuration. */
export async function composeServices(config: Config, options: ComposeOptions = {}) {
  const storage = azureStorage(config.storage, options.storageNames, options.savings);
  await storage.ensure();
  const transports = buildTransports(config, { logins: storage.logins });
  const clients = new ClientRegistry(config.clients);
  const clock = options.clock ?? systemClock;
  const log = options.log ?? jsonLogger((_level, line) => process.stderr.write(`${line}\n`));
  const activity = new CoalescingCounters(storage.activity);
  const statuses = new CountingStatusStore(storage.statuses, activity, (error) =>
    log.warn("an overview count was lost", { error: error instanceof Error ? error.message : String(error) }),
  );
  const services: ApiServices = {
    config,
    clients,
    messages: storage.messages,
    statuses,
    activity,
    queue: storage.queue,
    idempotency: storage.idempotency,
    transports,
    pacer: new MailboxPacer(
      new AzureTablePacingStore(
        storage.pacingTable,
        undefined,
        storage.savings.remember
          ? { remembered: recentMailboxes, grouped: true }
          : { remembered: 0, grouped: false },
      ),
      config.pacing,
      clock,
    ),
    tenant: new TenantPacer(storage.tenantPacing, tenantPolicy(config), clock),
    clock,
    newId: randomUUID,
    isStorageOutage,
  };
  const client = (clientId: string) => clients.clients.find((c) => c.id === clientId);
  const webhookDeps = (log: Logger): WebhookDeps => ({
    statuses,
    webhookQueue: storage.webhookQueue,
    client,
    policy: config.webhooks,
    clock,
    log,
  });
  const dispatchDeps = (log: Logger): DispatchDeps => ({
    ...services,
    log,
    saveToSentItems: (clientId) => client(clientId)?.saveToSentItems ?? true,
    reports: {
      wanted: (record) => callbackUrlOf(record, client(record.clientId)) !== undefined,
      enqueue: (record) => enqueueWebhook(record, webhookDeps(log)),
    },
  });
  return {
    services,
    storage,
    dispatchDeps,
    webhookDeps,
    async close(): Promise<void> {
      await Promise.all([...transports.values()].map((t) => t.close()));
    },
  };
}

export type Composed = Awaited<ReturnType<typeof composeServices>>;

/** The tenant pause's settings: the probe interval, the same lease as mailboxes, and the accepted domains. */
export function tenantPolicy(config: Config) {
  return {
    probeIntervalMs: config.tenant.externalProbeMs,
    leaseMs: config.pacing.leaseMs,
    ...(config.tenant.acceptedDomains ? { acceptedDomains: config.tenant.acceptedDomains } : {}),
  };
}
