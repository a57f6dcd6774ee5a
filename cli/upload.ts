import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { MultipartBody } from "./multipart.js";

/** Bytes sent so far out of the total, reported as the upload goes. */
export type ProgressListener = (sentBytes: number, totalBytes: number) => void;

/**
 * POSTs a multipart body with its Content-Length, streaming from disk (memory stays flat whatever the file
 * size) and reporting progress as bytes are handed to the socket.
 */
export async function postMultipart(
  url: string,
  headers: Record<string, string>,
  body: MultipartBody,
  onProgress: ProgressListener,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  const target = new URL(url);
  const send = target.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      target,
      {
        method: "POST",
        headers: { ...headers, "content-type": body.contentType, "content-length": String(body.lengthBytes) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString("utf8"),
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    let sentBytes = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        sentBytes += chunk.length;
        onProgress(sentBytes, body.lengthBytes);
        done(null, chunk);
      },
    });
    // The server may answer early (401, 413) and close; the response still arrives, so a write error here
    // only matters when no response comes.
    pipeline(body.stream(), counter, req).catch(() => undefined);
  });
}

const units = ["B", "KB", "MB", "GB"];
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

/** Progress on stderr: a rewritten line on a terminal, else one line per tenth. Small uploads say nothing. */
export function progressPrinter(stderr: { write(text: string): unknown; isTTY?: boolean }): ProgressListener {
  const quietBelowBytes = 1024 * 1024;
  let lastTenth = -1;
  return (sent, total) => {
    if (total < quietBelowBytes) return;
    const percent = Math.floor((sent / total) * 100);
    const line = `uploading ${formatBytes(sent)} / ${formatBytes(total)} (${percent}%)`;
    if (stderr.isTTY) {
      stderr.write(`\r${line}${sent === total ? "\n" : ""}`);
      return;
    }
    const tenth = Math.floor(percent / 10);
    if (tenth !== lastTenth) {
      lastTenth = tenth;
      stderr.write(`${line}\n`);
    }
  };
}
