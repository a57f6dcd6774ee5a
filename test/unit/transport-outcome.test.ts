import { describe, expect, it } from "vitest";
import { classifyTokenFailure } from "../../shared/transport/entra/outcome.js";
import {
  classifyGraphFailure,
  fallbackRetryAfterMs,
  type GraphFailure,
  parseRetryAfterMs,
} from "../../shared/transport/graph/outcome.js";
import type { SendOutcome } from "../../shared/transport/outcome.js";
import {
  classifySmtpFailure,
  classifySmtpReply,
  isDuplicateDelivery,
  type SmtpContext,
  type SmtpFailure,
} from "../../shared/transport/smtp/outcome.js";

const nowMs = Date.parse("2026-03-01T12:00:00Z");
const ctx = { consecutiveThrottles: 0, nowMs, random: () => 0.5 };
const minute = 60_000;

type Expected =
  | { kind: "sent" }
  | {
      kind: "throttled";
      retryAfterMs: number;
      code?: string;
      cause?: "rate" | "concurrency" | "quota" | "tenantExternal";
    }
  | { kind: "transient"; code?: string }
  | { kind: "permanent"; code: string; text?: string | RegExp };

function check(outcome: SendOutcome | undefined, expected: Expected, providerText?: string) {
  expect(outcome).toMatchObject(
    Object.fromEntries(Object.entries(expected).filter(([key]) => key !== "text")) as Record<string, unknown>,
  );
  if (expected.kind === "permanent" && outcome?.kind === "permanent") {
    // A permanent outcome keeps the provider's code and text for the status record.
    if (expected.text instanceof RegExp) expect(outcome.text).toMatch(expected.text);
    else expect(outcome.text).toBe(expected.text ?? providerText);
  }
}

describe("Graph answers", () => {
  // Graph 202 is not a failure and never reaches the classifier; the integration tests cover it.
  const graphCases: [string, GraphFailure, Expected][] = [
    [
      "400 invalid internet message header",
      {
        step: "sendMail",
        status: 400,
        code: "InvalidInternetMessageHeader",
        message: "The internet message header name 'Y-Id' should start with 'x-' or 'X-'.",
      },
      { kind: "permanent", code: "400 InvalidInternetMessageHeader" },
    ],
    [
      "400 bad recipient",
      {
        step: "sendMail",
        status: 400,
        code: "ErrorInvalidRecipients",
        message: "At least one recipient is not valid.",
      },
      { kind: "permanent", code: "400 ErrorInvalidRecipients" },
    ],
    [
      "401 token refused",
      {
        step: "sendMail",
        status: 401,
        code: "InvalidAuthenticationToken",
        message: "Access token has expired.",
      },
      { kind: "transient", code: "401 InvalidAuthenticationToken" },
    ],
    [
      "403 ErrorSendAsDenied",
      {
        step: "sendMail",
        status: 403,
        code: "ErrorSendAsDenied",
        message:
          "The user account which was used to submit this request does not have the right to send mail on behalf of the specified sending account.",
      },
      { kind: "permanent", code: "403 ErrorSendAsDenied" },
    ],
    [
      "403 ErrorAccessDenied on sendMail",
      {
        step: "sendMail",
        status: 403,
        code: "ErrorAccessDenied",
        message: "Access is denied. Check credentials and try again.",
      },
      {
        kind: "permanent",
        code: "403 ErrorAccessDenied",
        text: /^Mail\.Send permission is missing for this mailbox.*Graph said: Access is denied/,
      },
    ],
    [
      "403 ErrorAccessDenied on an upload session: Mail.ReadWrite missing",
      {
        step: "uploadSession",
        status: 403,
        code: "ErrorAccessDenied",
        message: "Access is denied. Check credentials and try again.",
      },
      { kind: "permanent", code: "403 ErrorAccessDenied", text: /^Mail\.ReadWrite permission is missing/ },
    ],
    [
      "403 ErrorAccessDenied on the draft: Mail.ReadWrite missing",
      {
        step: "draft",
        status: 403,
        code: "ErrorAccessDenied",
        message: "Access is denied. Check credentials and try again.",
      },
      {
        kind: "permanent",
        code: "403 ErrorAccessDenied",
        text: /^Mail\.ReadWrite permission is missing.*Access is denied\. Check credentials and try again\.$/,
      },
    ],
    [
      "404 mailbox",
      {
        step: "sendMail",
        status: 404,
        code: "ErrorInvalidUser",
        message: "The requested user 'nobody@contoso.com' is invalid.",
      },
      { kind: "permanent", code: "404 ErrorInvalidUser" },
    ],
    [
      "413 too large",
      {
        step: "sendMail",
        status: 413,
        code: "RequestEntityTooLarge",
        message: "The request is larger than 4 MB.",
      },
      { kind: "permanent", code: "413 RequestEntityTooLarge" },
    ],
    [
      "429 with Retry-After",
      {
        step: "sendMail",
        status: 429,
        code: "ApplicationThrottled",
        message: "Application is over its MailboxConcurrency limit.",
        retryAfter: "17",
      },
      { kind: "throttled", retryAfterMs: 17_000, code: "429 ApplicationThrottled" },
    ],
    [
      "429 with an HTTP-date Retry-After",
      {
        step: "upload",
        status: 429,
        code: "ApplicationThrottled",
        message: "slow down",
        retryAfter: "Sun, 01 Mar 2026 12:02:00 GMT",
      },
      { kind: "throttled", retryAfterMs: 2 * minute },
    ],
    [
      "429 without Retry-After: exponential fallback",
      { step: "sendMail", status: 429, code: "ApplicationThrottled", message: "Too many requests" },
      { kind: "throttled", retryAfterMs: 15_000 },
    ],
    [
      "503 with Retry-After",
      {
        step: "sendMail",
        status: 503,
        code: "ServiceUnavailable",
        message: "Service busy",
        retryAfter: "30",
      },
      { kind: "throttled", retryAfterMs: 30_000, code: "503 ServiceUnavailable" },
    ],
    [
      "504 with Retry-After",
      { step: "send", status: 504, code: "GatewayTimeout", message: "Gateway timeout", retryAfter: "5" },
      { kind: "throttled", retryAfterMs: 5_000, code: "504 GatewayTimeout" },
    ],
    [
      "504 without Retry-After",
      { step: "sendMail", status: 504, code: "GatewayTimeout", message: "Gateway timeout" },
      { kind: "transient", code: "504 GatewayTimeout" },
    ],
    [
      "connection reset",
      { step: "sendMail", code: "ECONNRESET", message: "connection to Graph failed: other side closed" },
      { kind: "transient", code: "ECONNRESET" },
    ],
    [
      "timeout",
      { step: "upload", code: "ETIMEDOUT", message: "no answer from Graph within 60000 ms" },
      { kind: "transient", code: "ETIMEDOUT" },
    ],
  ];

  it.each(graphCases)("%s", (_name, failure, expected) => {
    check(classifyGraphFailure(failure, ctx), expected, failure.message);
  });

  it("backs off exponentially, with jitter, when throttling answers have no Retry-After", () => {
    const delays = [0, 1, 2, 3, 10].map((n) => fallbackRetryAfterMs(n, () => 0.5));
    expect(delays).toEqual([15_000, 30_000, 60_000, 120_000, 15 * minute]);
    expect(fallbackRetryAfterMs(2, () => 0)).toBe(48_000);
    expect(fallbackRetryAfterMs(2, () => 0.999999)).toBeLessThanOrEqual(72_000);
    const third = classifyGraphFailure(
      { step: "sendMail", status: 503, message: "busy" },
      { ...ctx, consecutiveThrottles: 2 },
    );
    expect(third).toMatchObject({ kind: "throttled", retryAfterMs: 60_000 });
  });

  it("reads Retry-After as seconds or a date, never below one second", () => {
    expect(parseRetryAfterMs("0", nowMs)).toBe(1000);
    expect(parseRetryAfterMs("120", nowMs)).toBe(120_000);
    expect(parseRetryAfterMs("soon", nowMs)).toBeUndefined();
    expect(parseRetryAfterMs(undefined, nowMs)).toBeUndefined();
  });

  it.each([
    [
      "invalid_client",
      "AADSTS7000215: Invalid client secret provided.",
      "permanent",
      "ENTRA_CLIENT_SECRET is not",
    ],
    [
      "invalid_client",
      "AADSTS7000222: The provided client secret keys for app 'x' are expired.",
      "permanent",
      "client secret has expired: create a new one in the app registration and put it in ENTRA_CLIENT_SECRET",
    ],
    [
      "invalid_client",
      "AADSTS700027: Client assertion failed signature validation.",
      "permanent",
      "ENTRA_CLIENT_CERTIFICATE_PATH",
    ],
    [
      "unauthorized_client",
      "AADSTS700016: Application with identifier 'x' was not found.",
      "permanent",
      "ENTRA_CLIENT_ID",
    ],
    ["network_error", "Network request failed", "transient", "could not get a token"],
    ["timeout", "no answer from the token endpoint within 30000 ms", "transient", "could not get a token"],
    ["server_error", "AADSTS90033: A transient error has occurred.", "transient", "could not get a token"],
  ])("token failure %s (%s) is %s, naming %s", (code, message, kind, names) => {
    const outcome = classifyTokenFailure(code, message);
    expect(outcome).toMatchObject({ kind, code: `entra ${code}` });
    expect(outcome.text).toContain(names);
  });
});

describe("SMTP replies", () => {
  const smtpCases: [string, Expected][] = [
    ["235 2.7.0 Authentication successful", { kind: "sent" }],
    [
      "250 2.0.0 OK <id@contoso.com> [Hostname=AM0PR01MB1234.eurprd01.prod.exchangelabs.com]",
      { kind: "sent" },
    ],
    [
      "421 4.3.2 Service not available, closing transmission channel",
      { kind: "throttled", retryAfterMs: minute },
    ],
    ["421 4.7.0 Too many connections", { kind: "transient", code: "421 4.7.0" }],
    [
      "432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded",
      { kind: "throttled", retryAfterMs: minute, code: "432 4.3.2", cause: "concurrency" },
    ],
    ["451 4.7.500 Server busy. Please try again later", { kind: "transient", code: "451 4.7.500" }],
    ["454 4.7.0 Temporary authentication failure", { kind: "transient", code: "454 4.7.0" }],
    ["535 5.7.3 Authentication unsuccessful", { kind: "permanent", code: "535 5.7.3" }],
    [
      "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox",
      { kind: "permanent", code: "535 5.7.139" },
    ],
    ["530 5.7.57 Client not authenticated to send mail", { kind: "permanent", code: "530 5.7.57" }],
    [
      "550 5.7.30 Basic authentication is not supported for Client Submission",
      { kind: "permanent", code: "550 5.7.30" },
    ],
    [
      "550 5.7.60 SMTP; Client does not have permissions to send as this sender",
      { kind: "permanent", code: "550 5.7.60" },
    ],
    [
      "550 5.7.68 TenantInboundAttribution; Direct Send not allowed for this organization",
      { kind: "permanent", code: "550 5.7.68" },
    ],
    [
      "554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process message",
      { kind: "throttled", retryAfterMs: 60 * minute, code: "554 5.2.0", cause: "quota" },
    ],
    [
      "554 5.2.0 STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied",
      { kind: "permanent", code: "554 5.2.0" },
    ],
    ...[251, 252, 253, 254, 255].map((n): [string, Expected] => [
      `550 5.2.${n} Sending mail has been temporarily suspended`,
      { kind: "throttled", retryAfterMs: 15 * minute, code: `550 5.2.${n}`, cause: "rate" },
    ]),
    [
      "550 5.7.233 Your message can't be sent because your tenant has exceeded its daily limit for sending email to external recipients (tenant external recipient rate limit)",
      { kind: "throttled", retryAfterMs: 30 * minute, code: "550 5.7.233", cause: "tenantExternal" },
    ],
  ];

  it.each(smtpCases)("%s", (reply, expected) => {
    check(classifySmtpReply(reply), expected, reply);
    if (expected.kind !== "sent") {
      const failure: SmtpFailure = {
        responseCode: Number(reply.slice(0, 3)),
        response: reply,
        message: reply,
      };
      check(classifySmtpFailure(failure), expected, reply);
    }
  });

  const smtp = (login: SmtpContext["login"], extra: Partial<SmtpContext> = {}): SmtpContext => ({
    transport: "smtp",
    mailbox: "scanner@contoso.com",
    login,
    ...extra,
  });
  const reasonOf = (reply: string, context?: SmtpContext) => {
    const outcome = classifySmtpReply(reply, context);
    expect(outcome?.kind).toBe("permanent");
    return outcome?.kind === "permanent" ? (outcome.reason ?? "") : "";
  };

  it("makes basic authentication's refusals final on the first attempt, saying how to move to OAuth", () => {
    for (const reply of [
      "535 5.7.139 Authentication unsuccessful, basic authentication is disabled.",
      "550 5.7.30 Basic authentication is not supported for Client Submission.",
    ]) {
      const reason = reasonOf(reply, smtp("password"));
      expect(reason).toMatch(/scanner@contoso\.com cannot sign in/);
      expect(reason).toMatch(/SMTP_AUTH=oauth2/);
      expect(reason).toMatch(/SMTP\.SendAsApp/);
      expect(reason).toMatch(/graph transport/);
      expect(reason).toMatch(/hve for internal recipients/);
      // The provider's own words stay in the outcome for lastError.
      expect(classifySmtpReply(reply)).toMatchObject({ kind: "permanent", text: reply });
    }
    // On an HVE account the way out is OAuth for that account.
    expect(
      reasonOf("535 5.7.139 Authentication unsuccessful", smtp("password", { transport: "hve" })),
    ).toMatch(/remove it from HVE_PASSWORDS.*Add-HVEAppAccess/);
  });

  it("reads 535 5.7.3 by what was presented and whether that password worked before", () => {
    const reply = "535 5.7.3 Authentication unsuccessful";
    const workedAt = Date.parse("2026-12-20T08:00:00Z");
    expect(reasonOf(reply, smtp("password", { passwordWorkedAt: workedAt }))).toMatch(
      /worked until 2026-12-20T08:00:00\.000Z and is refused now .*basic authentication has been turned off.*SMTP_AUTH=oauth2/,
    );
    expect(reasonOf(reply, smtp("password"))).toMatch(
      /refused the user name or password .*Check SMTP_PASSWORDS/,
    );
    expect(reasonOf(reply, smtp("oauth2"))).toMatch(
      /refused the app's token .*SMTP\.SendAsApp.*New-ServicePrincipal/,
    );
    expect(reasonOf(reply, smtp("oauth2", { transport: "hve" }))).toMatch(/Mail\.Send .*Add-HVEAppAccess/);
    expect(classifySmtpReply(reply, smtp("none"))).toEqual({
      kind: "permanent",
      code: "535 5.7.3",
      text: reply,
    });
  });

  it("names the fix when the tenant rejects Direct Send (550 5.7.68): an inbound connector and relay", () => {
    const reason = reasonOf(
      "550 5.7.68 TenantInboundAttribution; Direct Send not allowed for this organization from unauthorized sources",
      smtp("none", { transport: "direct" }),
    );
    expect(reason).toMatch(/RejectDirectSend/);
    expect(reason).toMatch(/inbound connector .* relay transport/);
  });

  it.each([
    ["connection reset", { code: "ECONNRESET", message: "read ECONNRESET" }, true],
    ["connection closed", { code: "ECONNECTION", message: "Connection closed unexpectedly" }, true],
    ["timeout", { code: "ETIMEDOUT", message: "Timeout" }, true],
    ["connection refused", { code: "ECONNREFUSED", message: "connect ECONNREFUSED" }, false],
    ["no DNS answer", { code: "EDNS", message: "getaddrinfo ENOTFOUND" }, false],
  ])("%s is transient (ambiguous: %s)", (_name, failure, ambiguous) => {
    expect(classifySmtpFailure(failure)).toEqual({
      kind: "transient",
      code: failure.code,
      text: failure.message,
      ambiguous,
    });
  });

  it("recognises Exchange's refusal of a Message-ID the mailbox already holds", () => {
    const reply =
      "554 5.2.0 STOREDRV.Submission.Exception:StoragePermanentException.MapiExceptionDuplicateDelivery; " +
      "Failed to process message due to a permanent exception";
    expect(classifySmtpReply(reply)).toMatchObject({ kind: "permanent", code: "554 5.2.0" });
    expect(isDuplicateDelivery(reply)).toBe(true);
    expect(isDuplicateDelivery("554 5.2.0 STOREDRV.Submission.Exception:SendAsDeniedException")).toBe(false);
  });
});
