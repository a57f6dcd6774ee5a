import { senderAllowed } from "../domain/address.js";
import type { Client } from "../domain/client.js";
import { type QuotaView, quotaView } from "../pacing/window.js";
import { visibleClients } from "./scope.js";
import type { Services } from "./services.js";

// The pacing table holds one entity per mailbox; a tenant's sending mailboxes stay well under this.
const maxMailboxes = 1000;

/**
 * Every sending mailbox `caller` may see, with its usage: those with pacing state (they have sent, or are
 * booked) and the clients' named senders. A client sees the mailboxes it may send as; an operator every one.
 */
export async function mailboxes(
  caller: Client,
  services: Pick<Services, "pacer" | "clock" | "config">,
): Promise<{ mailbox: string; view: QuotaView }[]> {
  const scope = visibleClients(caller, services.config.clients);
  const known = new Map((await services.pacer.store.list(maxMailboxes)).map((m) => [m.mailbox, m.state]));
  const named = scope.flatMap((c) => [...c.senders.filter((s) => !s.includes("*")), c.defaultSender ?? ""]);
  const addresses = new Set([...known.keys(), ...named.filter(Boolean).map((a) => a.toLowerCase())]);
  const now = services.clock.now().getTime();
  const views: { mailbox: string; view: QuotaView }[] = [];
  for (const mailbox of [...addresses].sort()) {
    const sender = senderOf(mailbox, scope);
    if (!sender && !caller.operator) continue;
    const transport = (sender ?? scope[0] ?? caller).transport;
    views.push({
      mailbox,
      view: quotaView(known.get(mailbox), now, services.pacer.policy(mailbox, transport)),
    });
  }
  return views;
}

/** The first client of `scope` that may send as `mailbox`: its transport decides the limits that apply. */
function senderOf(mailbox: string, scope: Client[]): Client | undefined {
  return scope.find((c) => c.senders.length > 0 && senderAllowed(c.senders, mailbox));
}
