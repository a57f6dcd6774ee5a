import type { TransportName } from "../domain/client.js";
import type { OutboundMessage } from "../domain/outbound.js";
import type { SendCheckpoint } from "../domain/statusRecord.js";
import type { SendOutcome } from "./outcome.js";

/** What one send attempt knows of the earlier ones, and how it records what the provider now holds. */
export interface SendAttempt {
  /** What an earlier attempt left with the provider (a Graph draft), as its status record holds it. */
  checkpoint?: SendCheckpoint;
  /** An earlier attempt got no answer after the provider may have taken the message (status `possibleDuplicate`). */
  mayHaveBeenSent?: boolean;
  /**
   * Stores `checkpoint` on the status record (undefined clears it) before the provider is asked to send it.
   * Rejects when this attempt may no longer send (its claim was taken over) or the store failed: the
   * transport then stops and the error reaches the dispatcher as it is.
   */
  saveCheckpoint(checkpoint: SendCheckpoint | undefined): Promise<void>;
}

/** What became of an unfinished send that is being given up (a cancel, a final failure). */
export type AbandonResult = "sent" | "discarded";

/**
 * One way of sending mail, as small as nodemailer's transport contract. Implementations never throw for
 * provider answers: they classify them (`./outcome.ts`).
 */
export interface Transport {
  readonly name: TransportName;
  send(message: OutboundMessage, attempt?: SendAttempt): Promise<SendOutcome>;
  /**
   * Settles a checkpoint of a message that will not be sent by us: "sent" when the provider had sent it
   * after all, else deletes what it holds (the draft) and resolves "discarded". Rejects when the provider
   * cannot tell now. Transports that keep no checkpoints do not implement it.
   */
  abandon?(checkpoint: SendCheckpoint): Promise<AbandonResult>;
  /**
   * The bytes sending `message` uploads, for a provider that limits upload volume per mailbox (Graph: 150 MB
   * per 5 minutes); absent where uploads are not limited. Pacing books them before the send.
   */
  uploadBytes?(message: OutboundMessage): number;
  /** Releases pooled connections and timers. */
  close(): Promise<void>;
}

/** The attempt of a transport called without checkpoints (tests, the benchmark, the CLI's doctor). */
export const firstAttempt: SendAttempt = { saveCheckpoint: async () => {} };
