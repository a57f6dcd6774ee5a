import type { TransportName } from "../../domain/client.js";
import type { LoginHistoryStore } from "../ports.js";

/** In-memory LoginHistoryStore; same contract as the Table adapter. */
export class MemoryLoginHistoryStore implements LoginHistoryStore {
  private readonly records = new Map<string, number>();

  async lastSuccessAt(transport: TransportName, mailbox: string): Promise<number | undefined> {
    return this.records.get(`${transport} ${mailbox.toLowerCase()}`);
  }

  async recordSuccess(transport: TransportName, mailbox: string, atMs: number): Promise<void> {
    this.records.set(`${transport} ${mailbox.toLowerCase()}`, Math.floor(atMs));
  }
}
