import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { Readable } from "node:stream";

/** Resident set size of a process in bytes, from /proc (Linux). */
export async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

/**
 * The peak RSS of a process while `work` runs: the kernel's high-water mark (VmHWM), reset first through
 * /proc/<pid>/clear_refs (value 5, https://www.kernel.org/doc/html/latest/filesystems/proc.html) where that
 * is allowed, and sampled every 10 ms besides, so a peak between two samples is not missed.
 */
export async function peakRssDuring(pid: number, work: () => Promise<void>): Promise<number> {
  const reset = await writeFile(`/proc/${pid}/clear_refs`, "5").then(
    () => true,
    () => false,
  );
  let peak = await rssBytes(pid);
  let running = true;
  const sampler = (async () => {
    while (running) {
      peak = Math.max(peak, await rssBytes(pid).catch(() => 0));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  try {
    await work();
  } finally {
    running = false;
    await sampler;
  }
  if (!reset) return peak;
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Math.max(peak, Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024);
}

/** A body for `POST`, sent as a client would send a file (streamed from disk, Content-Length known up front). */
export interface FileBody {
  contentType: string;
  head: Buffer;
  file: string;
  fileBytes: number;
  tail: Buffer;
}

/** Posts `body` to `url` with `headers`; resolves to the status code once the answer has been read. */
export function postBody(url: string, headers: Record<string, string>, body: FileBody): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: "POST",
        headers: {
          ...headers,
          "content-type": body.contentType,
          "content-length": body.head.length + body.fileBytes + body.tail.length,
        },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    Readable.from(
      (async function* () {
        yield body.head;
        yield* createReadStream(body.file);
        yield body.tail;
      })(),
    ).pipe(req);
  });
}

/** A multipart scan as a scanner posts it: to, subject (and any `fields`), then the file part. */
export function multipartScan(
  file: string,
  fileBytes: number,
  fields: Record<string, string> = {},
): FileBody {
  const boundary = `bench-${randomBytes(8).toString("hex")}`;
  const field = (name: string, value: string) =>
    `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  const all = { to: "alice@contoso.com", subject: "Bench scan", ...fields };
  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    head: Buffer.from(
      Object.entries(all)
        .map(([name, value]) => field(name, value))
        .join("") +
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="scan.pdf"\r\n` +
        "Content-Type: application/pdf\r\n\r\n",
    ),
    file,
    fileBytes,
    tail: Buffer.from(`\r\n--${boundary}--\r\n`),
  };
}
