import type { TransportName } from "../domain/client.js";
import type { OutboundMessage } from "../domain/outbound.js";
import type { SendOutcome } from "./outcome.js";

/**
 * One way of sending mail, as small as nodemailer's transport contract. Implementations never throw for
 * provider answers: they classify them (`./outcome.ts`).
 */
export interface Transport {
  readonly name: TransportName;
  send(message: OutboundMessage): Promise<SendOutcome>;
  /** Releases pooled connections and timers. */
  close(): Promise<void>;
}
