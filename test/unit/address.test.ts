import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { addressProblem, mailboxSchema, parseMailbox, senderAllowed } from "../../shared/domain/address.js";

describe("addresses", () => {
  it.each([
    ["alice@contoso.com", { address: "alice@contoso.com" }],
    ["Alice <alice@contoso.com>", { address: "alice@contoso.com", name: "Alice" }],
    ['"Smith, Alice" <alice@contoso.com>', { address: "alice@contoso.com", name: "Smith, Alice" }],
    ["  <alice@contoso.com>  ", { address: "alice@contoso.com" }],
  ])("parses %j", (text, expected) => {
    expect(parseMailbox(text)).toEqual(expected);
  });

  it.each([
    ["alice", "is not an email address"],
    ["@contoso.com", "is not an email address"],
    ["alice@contoso", "invalid domain"],
    ["al ice@contoso.com", "invalid local part"],
    ["alice..b@contoso.com", "invalid local part"],
    ["alice@-contoso.com", "invalid domain"],
    [`${"a".repeat(65)}@contoso.com`, "local part longer than 64"],
    ["alice@contoso.com\r\nBcc: x@y.com", "CR, LF"],
  ])("rejects %j", (address, problem) => {
    expect(addressProblem(address)).toContain(problem);
  });

  it("lower-cases the domain and keeps the local part", () => {
    expect(mailboxSchema.parse("Alice.Smith@Contoso.COM")).toEqual({ address: "Alice.Smith@contoso.com" });
  });

  it("never accepts an address or display name holding CR, LF or NUL", () => {
    const dangerous = fc.constantFrom("\r", "\n", "\u0000", "\r\n");
    fc.assert(
      fc.property(fc.string(), dangerous, fc.string(), (before, bad, after) => {
        expect(mailboxSchema.safeParse(`${before}${bad}${after}@contoso.com`).success).toBe(false);
        expect(mailboxSchema.safeParse(`alice@contoso.com${bad}${after}`).success).toBe(false);
        expect(
          mailboxSchema.safeParse({ address: "alice@contoso.com", name: `${before}${bad}${after}` }).success,
        ).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it("accepts generated addresses with plain local parts", () => {
    const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
    const local = fc.stringMatching(/^[A-Za-z0-9_+-]{1,20}(\.[A-Za-z0-9_+-]{1,10}){0,2}$/);
    fc.assert(
      fc.property(local, fc.array(label, { minLength: 2, maxLength: 4 }), (l, labels) => {
        expect(addressProblem(`${l}@${labels.join(".")}`)).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  it("matches sender patterns exactly, per domain, or (development only) any", () => {
    expect(senderAllowed(["scanner@contoso.com"], "Scanner@Contoso.com")).toBe(true);
    expect(senderAllowed(["scanner@contoso.com"], "other@contoso.com")).toBe(false);
    expect(senderAllowed(["*@contoso.com"], "anyone@contoso.com")).toBe(true);
    expect(senderAllowed(["*@contoso.com"], "anyone@sub.contoso.com")).toBe(false);
    expect(senderAllowed(["*@contoso.com"], "contoso.com@evil.com")).toBe(false);
    expect(senderAllowed(["*"], "whoever@fabrikam.com")).toBe(true);
  });
});
