import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inject } from "vitest";
import { startSmtpSink } from "../../dev/smtpSink.js";
import { loadConfig } from "../../shared/config.js";
import type { Client } from "../../shared/domain/client.js";
import { sha256Hex } from "../../shared/domain/client.js";
import { composeServices } from "../../shared/host/compose.js";
import type { StorageNames } from "../../shared/storage/azure/account.js";
import type { Clock } from "../../shared/storage/ports.js";

/** Queue, container and table names no other test uses (Azure naming rules: lowercase, 3-63 characters). */
export function uniqueStorageNames(): StorageNames {
  const suffix = randomUUID().replaceAll("-", "").slice(0, 16);
  return {
    queue: `out-${suffix}`,
    poisonQueue: `out-${suffix}-poison`,
    container: `msg-${suffix}`,
    table: `status${suffix}`,
    pacing: `pacing${suffix}`,
    idempotency: `idem${suffix}`,
    webhookQueue: `hooks-${suffix}`,
    activity: `activity${suffix}`,
  };
}

export function storageConnection(): string {
  return inject("storageConnection");
}

export interface TestClient {
  client: Client;
  key: string;
}

/** A client with a fresh random key; `overrides` change any field. */
export function testClient(overrides: Partial<Client> = {}): TestClient {
  const key = `mh_test_${randomBytes(16).toString("hex")}`;
  return {
    key,
    client: {
      id: `client-${randomBytes(3).toString("hex")}`,
      keySha256: sha256Hex(key),
      senders: ["*@contoso.com"],
      defaultSender: "scanner@contoso.com",
      transport: "smtp",
      ...overrides,
    },
  };
}

/**
 * The real services (Azurite storage with unique names, SMTP transport) pointed at a loopback SMTP sink
 * writing into a temporary outbox. `env` adds or overrides app settings.
 */
export async function startTestServices(
  clients: Client[],
  options: { env?: Record<string, string>; clock?: Clock } = {},
) {
  const outboxDir = await mkdtemp(join(tmpdir(), "mailhook-outbox-"));
  const password = randomBytes(12).toString("hex");
  const sink = await startSmtpSink({
    outboxDir,
    tls: { cert: inject("tlsCert"), key: inject("tlsKey") },
    password,
  });
  const settings: Record<string, string> = {
    AzureWebJobsStorage: storageConnection(),
    MAILHOOK_CLIENTS: JSON.stringify(clients),
    SMTP_HOST: "localhost",
    SMTP_PORT: String(sink.port),
    SMTP_AUTH: "basic",
    SMTP_PASSWORDS: JSON.stringify({ "*": password }),
  };
  const config = loadConfig({ ...settings, ...options.env });
  const names = uniqueStorageNames();
  const composed = await composeServices(config, { storageNames: names, clock: options.clock });
  return {
    ...composed,
    sink,
    outboxDir,
    names,
    /** The app settings these services were built from, before `options.env` (to build a second instance). */
    settings,
    async stop() {
      await composed.close();
      await sink.stop();
    },
  };
}
