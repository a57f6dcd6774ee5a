import type { Client } from "../domain/client.js";
import type { StatusRecord } from "../domain/statusRecord.js";
import type { Services } from "./services.js";

/** Whose messages and mailboxes a caller sees and acts on: its own, or every client's for an operator. */
export function visibleClients(caller: Client, clients: readonly Client[]): Client[] {
  return caller.operator ? [...clients] : [caller];
}

/**
 * The message `id` as `caller` may see it. Records are partitioned by client and ids are unique, so an
 * operator's lookup reads the caller's partition and then every other client's at once (one point read
 * each: the clients are configured, not counted per message).
 */
export async function findMessage(
  caller: Client,
  id: string,
  services: Pick<Services, "statuses" | "config">,
): Promise<StatusRecord | undefined> {
  const own = await services.statuses.get(caller.id, id);
  if (own || !caller.operator) return own;
  const others = services.config.clients.filter((c) => c.id !== caller.id);
  const found = await Promise.all(others.map((c) => services.statuses.get(c.id, id)));
  return found.find((r) => r !== undefined);
}
