import type { TransportName } from "../../domain/client.js";

/** What the SMTP classifier knows about the session besides the reply. */
export interface SmtpContext {
  transport: TransportName;
  /** The sending mailbox (the SASL user when the session logs in). */
  mailbox: string;
  /** How the session logged in: the mailbox's password, an app token, or not at all (Direct Send, relay). */
  login: "password" | "oauth2" | "none";
  /** When a password login of this mailbox last succeeded (epoch ms), if one ever did (the 535 5.7.3 advice). */
  passwordWorkedAt?: number;
}
