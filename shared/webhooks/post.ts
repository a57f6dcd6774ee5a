import { request as plainRequest } from "node:http";
import { request } from "node:https";
import type { LookupFunction } from "node:net";

const requestTimeoutMs = 10_000;

/** POSTs to `url` connecting to the already-vetted address (no second DNS answer can redirect it). */
export function postPinned(
  url: string,
  body: string,
  destination: { address: string; family: number },
  headers: Record<string, string>,
): Promise<number> {
  const pinned: LookupFunction = (_host, options, callback) => {
    if (options.all) callback(null, [destination]);
    else callback(null, destination.address, destination.family);
  };
  const send = url.startsWith("https:") ? request : plainRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, { method: "POST", headers, lookup: pinned, timeout: requestTimeoutMs }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${requestTimeoutMs} ms`)));
    req.on("error", reject);
    req.end(body);
  });
}
