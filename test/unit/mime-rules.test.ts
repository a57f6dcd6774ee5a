import { describe, expect, it } from "vitest";
import { loadConfig } from "../../shared/config.js";
import type { Client } from "../../shared/domain/client.js";
import { mimeRecipients } from "../../shared/domain/outbound.js";
import { ProblemError } from "../../shared/domain/problem.js";
import { parseMimeHeaders } from "../../shared/intake/mimeHeaders.js";
import { senderProblem } from "../../shared/intake/policy.js";
import { smtpEnvelopeFrom } from "../../shared/intake/smtpEnvelope.js";
import { bccHeader, graphRequestMaxBytes, sendsAsMime } from "../../shared/transport/graph/payload.js";

const client: Client = {
  id: "mfp",
  keySha256: "0".repeat(64),
  senders: ["scanner@contoso.com", "*@scans.contoso.com"],
  transport: "smtp",
};
const config = loadConfig({
  AzureWebJobsStorage: "UseDevelopmentStorage=true",
  MAILHOOK_CLIENTS: JSON.stringify([client]),
  SMTP_AUTH: "basic",
  SMTP_PASSWORDS: JSON.stringify({ "*": "x" }),
});

const headers = (lines: string[]) => parseMimeHeaders(Buffer.from(`${lines.join("\r\n")}\r\n\r\n`));

describe("the sender rule", () => {
  it.each([
    [{ address: "scanner@contoso.com" }, undefined],
    [{ address: "Scanner@Contoso.com", name: "Scanner 3rd floor" }, undefined],
    [{ address: "any@scans.contoso.com" }, undefined],
    [{ address: "scanner@contoso.com", name: "scanner@contoso.com" }, undefined],
    [{ address: "ceo@contoso.com" }, "may not send as ceo@contoso.com"],
    [{ address: "scanner@contoso.com", name: "ceo@contoso.com" }, "names ceo@contoso.com"],
    [{ address: "scanner@contoso.com", name: "Payroll (payroll@contoso.com)" }, "names payroll@contoso.com"],
  ])("decides %j", (sender, problem) => {
    const found = senderProblem(sender, client, config);
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found?.text).toContain(problem);
  });
});

describe("top-level MIME headers", () => {
  it("decodes encoded words before a rule looks at a display name", async () => {
    // =?utf-8?B?...?= is "ceo@contoso.com": a smuggled address a client would show decoded.
    const parsed = await headers(["From: =?utf-8?B?Y2VvQGNvbnRvc28uY29t?= <scanner@contoso.com>"]);
    expect(parsed.from).toEqual([{ address: "scanner@contoso.com", name: "ceo@contoso.com" }]);
    expect(senderProblem(parsed.from[0]!, client, config)?.kind).toBe("forbiddenSender");
  });

  it("flattens groups, names nobody for undisclosed-recipients, and refuses a bare word", async () => {
    const parsed = await headers([
      "From: scanner@contoso.com",
      "To: Team: a@contoso.com, b@contoso.com;, c@fabrikam.com",
      "Cc: undisclosed-recipients:;",
      "Subject: =?utf-8?Q?caf=C3=A9?=",
    ]);
    expect(parsed.to.map((m) => m.address)).toEqual(["a@contoso.com", "b@contoso.com", "c@fabrikam.com"]);
    expect(parsed.cc).toEqual([]);
    expect(parsed.subject).toBe("café");
    await expect(headers(["From: scanner@contoso.com", "To: nobody"])).rejects.toThrow(ProblemError);
  });
});

describe("the envelope headers of message/rfc822", () => {
  it("reads bare addresses, repeated headers and angle brackets, each address once", () => {
    const h = new Headers();
    h.append("Mailhook-Envelope-To", "a@contoso.com, <B@Contoso.com>");
    h.append("Mailhook-Envelope-To", "a@contoso.com");
    h.set("Mailhook-Envelope-From", "scanner@contoso.com");
    expect(smtpEnvelopeFrom(h)).toEqual({
      from: { address: "scanner@contoso.com" },
      recipients: [{ address: "a@contoso.com" }, { address: "B@contoso.com" }],
    });
    expect(smtpEnvelopeFrom(new Headers())).toEqual({});
  });

  it.each(["Alice <a@contoso.com>", "a@", "", " , "])("refuses %j with a 422 naming the header", (to) => {
    const h = new Headers({ "Mailhook-Envelope-To": to });
    expect(() => smtpEnvelopeFrom(h)).toThrow(/Mailhook-Envelope-To/);
  });
});

describe("Graph's MIME sendMail", () => {
  const mime = (size: number, recipients: string[], visible: string[]) => ({
    size,
    ...mimeRecipients({ recipients: recipients.map((address) => ({ address })), visibleRecipients: visible }),
  });

  it("names envelope-only recipients in a folded Bcc header", () => {
    const m = mime(100, ["a@contoso.com", "b@contoso.com", "c@contoso.com"], ["a@contoso.com"]);
    expect(bccHeader(m.bcc)).toBe("Bcc: b@contoso.com,\r\n c@contoso.com\r\n");
    expect(bccHeader([])).toBe("");
  });

  it("takes what fits its 4 MB request in base64, and only when To and Cc stay within the envelope", () => {
    const fits = Math.floor((graphRequestMaxBytes / 4) * 3);
    expect(sendsAsMime(mime(fits, ["a@contoso.com"], ["a@contoso.com"]))).toBe(true);
    expect(sendsAsMime(mime(fits + 1, ["a@contoso.com"], ["a@contoso.com"]))).toBe(false);
    // The Bcc header counts too.
    expect(sendsAsMime(mime(fits - 10, ["a@contoso.com", "b@contoso.com"], ["a@contoso.com"]))).toBe(false);
    expect(sendsAsMime(mime(100, ["a@contoso.com"], ["a@contoso.com", "x@fabrikam.com"]))).toBe(false);
  });
});
