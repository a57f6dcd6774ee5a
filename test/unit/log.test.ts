import { describe, expect, it } from "vitest";
import { jsonLogger, textLogger } from "../../shared/log.js";

describe("the terminal log", () => {
  const at = new Date("2026-05-01T09:30:00.123Z");

  it("prints one short line: ISO time, level, message id, what happened, then the fields", () => {
    const lines: string[] = [];
    const log = textLogger(
      (_level, line) => lines.push(line),
      {},
      () => at,
    );
    log.info("message accepted", {
      messageId: "3f2a9c1e-0000-4000-8000-000000000001",
      transport: "smtp",
      recipients: 2,
    });
    log.warn("message deferred by pacing", {
      messageId: "3f2a9c1e-0000-4000-8000-000000000001",
      reason: "30 messages in the last minute",
      until: "2026-05-01T09:31:00.000Z",
      code: undefined,
    });
    log.error("queue poll failed", { queue: "mailhook-outbound" });
    expect(lines).toEqual([
      "2026-05-01T09:30:00.123Z info  3f2a9c1e-0000-4000-8000-000000000001 message accepted transport=smtp recipients=2",
      '2026-05-01T09:30:00.123Z warn  3f2a9c1e-0000-4000-8000-000000000001 message deferred by pacing reason="30 messages in the last minute" until=2026-05-01T09:31:00.000Z',
      "2026-05-01T09:30:00.123Z error - queue poll failed queue=mailhook-outbound",
    ]);
  });

  it("carries the same fields as the JSON log, no more", () => {
    const text: string[] = [];
    const json: string[] = [];
    const fields = { messageId: "m-1", clientId: "scanners", claimCheck: false };
    textLogger(
      (_l, line) => text.push(line),
      { invocationId: "i-1" },
      () => at,
    ).info("message accepted", fields);
    jsonLogger((_l, line) => json.push(line), { invocationId: "i-1" }).info("message accepted", fields);
    expect(JSON.parse(json[0]!)).toEqual({
      level: "info",
      message: "message accepted",
      invocationId: "i-1",
      ...fields,
    });
    expect(text[0]).toBe(
      "2026-05-01T09:30:00.123Z info  m-1 message accepted invocationId=i-1 clientId=scanners claimCheck=false",
    );
  });
});
