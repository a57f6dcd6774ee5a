import type { Readable } from "node:stream";
import type { TransportName } from "../config.js";
import type { Mailbox } from "../domain/address.js";

export interface OutboundAttachment {
  name: string;
  contentType: string;
  size: number;
  /** Opens the bytes as a stream; called once per send attempt. */
  open(): Promise<Readable>;
}

/** A message ready to hand to a provider. */
export interface OutboundMessage {
  id: string;
  /** RFC 5322 Message-ID derived from `id`, so a resend of the same message carries the same one. */
  messageId: string;
  from: Mailbox;
  to: Mailbox[];
  cc: Mailbox[];
  bcc: Mailbox[];
  replyTo: Mailbox[];
  subject: string;
  text?: string;
  html?: string;
  headers: Record<string, string>;
  importance?: "low" | "normal" | "high";
  saveToSentItems: boolean;
  attachments: OutboundAttachment[];
}

/**
 * Every provider answer in four kinds, named by what happens next:
 * sent (final), throttled (reschedule, not a failure), transient (retry via the queue), permanent (final failure).
 */
export type SendOutcome =
  | { kind: "sent"; providerMessageId?: string; response?: string }
  | { kind: "throttled"; retryAfterMs: number; code?: string; text: string }
  | { kind: "transient"; code?: string; text: string }
  | { kind: "permanent"; code?: string; text: string };

/** One way of sending mail. Implementations never throw for provider answers: they classify them. */
export interface Transport {
  readonly name: TransportName;
  send(message: OutboundMessage): Promise<SendOutcome>;
  /** Releases pooled connections and timers. */
  close(): Promise<void>;
}
