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
  /**
   * The bytes sending `message` uploads, for a provider that limits upload volume per mailbox (Graph: 150 MB
   * per 5 minutes); absent where uploads are not limited. Pacing books them before the send.
   */
  uploadBytes?(message: OutboundMessage): number;
  /** Releases pooled connections and timers. */
  close(): Promise<void>;
}
