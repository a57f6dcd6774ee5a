import { createHmac, timingSafeEqual } from "node:crypto";

/** The header carrying `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export const signatureHeader = "Mailhook-Signature";

/** Receivers should refuse a delivery whose timestamp is further than this from their clock (replays). */
export const replayToleranceSeconds = 300;

export function signatureOf(secret: string, body: string, timestampSeconds: number): string {
  const mac = createHmac("sha256", secret).update(`${timestampSeconds}.${body}`).digest("hex");
  return `t=${timestampSeconds},v1=${mac}`;
}

/**
 * Checks a delivery as a receiver should: the signature over timestamp and body, compared in constant time,
 * and the timestamp within the replay window. Exported for receivers written in TypeScript and for tests.
 */
export function verifySignature(
  secret: string,
  body: string,
  header: string,
  nowSeconds: number,
  toleranceSeconds = replayToleranceSeconds,
): boolean {
  const parts = Object.fromEntries(
    header.split(",").map((part) => part.trim().split("=", 2) as [string, string]),
  );
  const timestamp = Number(parts.t);
  if (!Number.isInteger(timestamp) || Math.abs(nowSeconds - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(signatureOf(secret, body, timestamp).split("v1=")[1] ?? "", "hex");
  const given = Buffer.from(parts.v1 ?? "", "hex");
  return given.length === expected.length && timingSafeEqual(given, expected);
}
