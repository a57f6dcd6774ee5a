import { RestError, type TableClient, type TableEntity } from "@azure/data-tables";
import { z } from "zod";
import type { TransportName } from "../../domain/client.js";
import type { LoginHistoryStore } from "../ports.js";
import { mailboxPartitionKey } from "./mailboxKey.js";

/** What one login record holds, as JSON in the entity's `state`. Version 1. */
const loginRecordSchema = z.object({ v: z.literal(1), passwordOkAt: z.number().int().nonnegative() });

type LoginEntity = TableEntity<{ mailbox: string; state: string }>;

// Beside the mailbox's pacing record, in its partition: one row per transport that logs in with a password.
const rowKey = (transport: TransportName) => `login-${transport}`;

/** Password logins that worked, in the pacing table. Last writer wins: any recent success is as good. */
export class AzureTableLoginHistoryStore implements LoginHistoryStore {
  constructor(private readonly table: TableClient) {}

  async lastSuccessAt(transport: TransportName, mailbox: string): Promise<number | undefined> {
    try {
      const entity = await this.table.getEntity<LoginEntity>(mailboxPartitionKey(mailbox), rowKey(transport));
      return loginRecordSchema.parse(JSON.parse(entity.state)).passwordOkAt;
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 404) return undefined;
      throw error;
    }
  }

  async recordSuccess(transport: TransportName, mailbox: string, atMs: number): Promise<void> {
    const state = JSON.stringify(loginRecordSchema.parse({ v: 1, passwordOkAt: Math.floor(atMs) }));
    await this.table.upsertEntity<LoginEntity>(
      {
        partitionKey: mailboxPartitionKey(mailbox),
        rowKey: rowKey(transport),
        mailbox: mailbox.toLowerCase(),
        state,
      },
      "Replace",
    );
  }
}
