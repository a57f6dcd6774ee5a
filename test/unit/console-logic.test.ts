import { describe, expect, it } from "vitest";
import { barChart, niceMax } from "../../console/src/chart.js";
import { explain } from "../../console/src/explain.js";
import { bytes, count, relative, time } from "../../console/src/format.js";
import { cursorOf, formatRoute, listQuery, parseRoute } from "../../console/src/route.js";

describe("the console's URL state", () => {
  it("reads a linked view with its filters, and writes it back the same", () => {
    const search =
      "?view=messages&status=failed&client=alpha&mailbox=scanner%40contoso.com&period=24h&q=invoice";
    const route = parseRoute(search);
    expect(route).toEqual({
      view: "messages",
      filters: {
        status: "failed",
        client: "alpha",
        mailbox: "scanner@contoso.com",
        period: "24h",
        q: "invoice",
      },
    });
    expect(formatRoute(route)).toBe(search);
    expect(parseRoute("?view=message&id=3f2c-01")).toEqual({ view: "message", id: "3f2c-01", filters: {} });
  });

  it("drops what is unknown or malformed instead of trusting it", () => {
    expect(parseRoute("?view=admin&status=lost&client=<x>&period=1y")).toEqual({
      view: "messages",
      filters: {},
    });
    expect(parseRoute("?view=message&id=../../etc")).toEqual({ view: "messages", filters: {} });
    expect(parseRoute(`?q=${"x".repeat(300)}`).filters.q).toBeUndefined();
    expect(parseRoute("").view).toBe("messages");
  });

  it("asks the API for the filters, `since` as an instant, the cursor as given", () => {
    const now = Date.parse("2026-03-02T12:00:00.000Z");
    const query = listQuery(parseRoute("?view=messages&status=failed&period=1h&next=abc"), now, 25);
    expect(Object.fromEntries(query)).toEqual({
      limit: "25",
      status: "failed",
      since: "2026-03-02T11:00:00.000Z",
      next: "abc",
    });
    expect(cursorOf("http://127.0.0.1:7071/api/v1/messages?status=failed&next=xyz")).toBe("xyz");
    expect(cursorOf(undefined)).toBeUndefined();
  });
});

describe("the console's wording", () => {
  it("writes numbers, sizes and times", () => {
    expect(count(10000)).toBe("10,000");
    expect(bytes(1)).toBe("1 byte");
    expect(bytes(3_400_000)).toBe("3.4 MB");
    expect(bytes(340_000)).toBe("340 KB");
    const now = Date.parse("2026-03-02T12:00:00.000Z");
    expect(time("2026-03-02T11:59:30.000Z", now, "UTC")).toBe("11:59:30");
    expect(time("2026-02-27T08:05:00.000Z", now, "UTC")).toBe("27 Feb, 08:05");
    expect(relative("2026-03-02T12:03:00.000Z", now)).toBe("in 3 min");
    expect(relative("2026-03-02T10:00:00.000Z", now)).toBe("2 h ago");
    expect(relative("2026-03-02T12:00:01.000Z", now)).toBe("now");
  });

  it("says what to do about the failures devices and apps meet most", () => {
    const cases: [Parameters<typeof explain>[0], RegExp][] = [
      [
        { code: "403 ErrorAccessDenied", reason: "Mail.ReadWrite permission is missing: …" },
        /Mail\.ReadWrite application permission/,
      ],
      [{ code: "403 ErrorAccessDenied", text: "Access is denied." }, /Mail\.Send application permission/],
      [{ code: "403 ErrorSendAsDenied" }, /Send As/],
      [
        { code: "535 5.7.139", text: "SmtpClientAuthentication is disabled for the Tenant" },
        /Set-CASMailbox/,
      ],
      [{ code: "535 5.7.3", text: "Authentication unsuccessful" }, /SMTP\.SendAsApp/],
      [{ code: "550 5.7.30" }, /SMTP_AUTH to oauth2/],
      [{ code: "550 5.7.68", text: "TenantInboundAttribution" }, /connector/],
      [{ code: "554 5.2.0", text: "SubmissionQuotaExceededException" }, /10,000/],
      [{ reason: "gave up after 5 attempts: ECONNRESET" }, /connectivity/],
    ];
    for (const [facts, advice] of cases) expect(explain(facts), JSON.stringify(facts)).toMatch(advice);
    expect(explain({ code: "250 2.0.0" })).toBeUndefined();
  });
});

describe("the overview chart", () => {
  it("scales to a round top and stacks sent, deferred and failed per hour", () => {
    expect([0, 1, 3, 7, 10, 11, 430].map(niceMax)).toEqual([1, 1, 5, 10, 10, 20, 500]);
    const hours = [
      { start: "a", sent: 6, deferred: 2, failed: 2 },
      { start: "b", sent: 0, deferred: 0, failed: 0 },
    ];
    const chart = barChart(hours, 200, 100);
    expect(chart.max).toBe(10);
    expect(chart.ticks).toEqual([0, 5, 10]);
    expect(chart.bars.map((b) => [b.series, b.y, b.height])).toEqual([
      ["sent", 40, 60],
      ["deferred", 20, 20],
      ["failed", 0, 20],
    ]);
    expect(chart.bars.every((b) => b.x >= 0 && b.x + b.width <= 100)).toBe(true);
    expect(barChart([], 200, 100).bars).toEqual([]);
  });
});
