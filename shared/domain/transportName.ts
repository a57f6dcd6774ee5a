/**
 * The ways mailhook sends: Microsoft Graph sendMail, SMTP AUTH client submission, Direct Send and relay
 * through a connector (Microsoft's "How to set up a multifunction device or application to send email using
 * Microsoft 365": https://learn.microsoft.com/exchange/mail-flow-best-practices/how-to-set-up-a-multifunction-device-or-application-to-send-email-using-microsoft-365-or-office-365),
 * and High Volume Email, SMTP submission of internal mail from an HVE account
 * (https://learn.microsoft.com/exchange/mail-flow-best-practices/high-volume-mails-m365).
 * A module of its own, free of Node built-ins, so that the console can use the status schemas in a browser.
 */
export const transportNames = ["graph", "smtp", "direct", "relay", "hve"] as const;
export type TransportName = (typeof transportNames)[number];
