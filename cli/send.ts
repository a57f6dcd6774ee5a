import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { z } from "zod";
import { authHeaders, type Endpoint, endpointFrom, getJson, problemError } from "./api.js";
import { CliError, type CliIo } from "./io.js";
import { type FormPart, multipartBody } from "./multipart.js";
import { postMultipart, progressPrinter } from "./upload.js";

// Common types by extension; anything else goes as application/octet-stream (the server keeps it as given).
const contentTypes: Record<string, string> = {
  ".pdf": "application/pdf",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".tif": "image/tiff",
  ".tiff": "image/tiff",
  ".txt": "text/plain",
  ".csv": "text/csv",
  ".html": "text/html",
  ".zip": "application/zip",
  ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
};

const acceptedSchema = z.object({ id: z.string(), status: z.string(), location: z.string().optional() });
const statusSchema = z.looseObject({ id: z.string(), status: z.string() });
const finalStatuses = new Set(["sent", "failed", "cancelled"]);

export const sendUsage = `usage: mailhook send --to a@x [--to ...] --subject S [--text T | --text-file F] [--html-file F]
                    [--cc a@x] [--bcc a@x] [--reply-to a@x] [--from a@x] [--attach FILE ...]
                    [--send-at ISO] [--idempotency-key K] [--wait [--timeout-seconds 120]] [--url U] [--key K]`;

/** `mailhook send`: JSON without attachments; a streamed multipart upload with progress when files are attached. */
export async function sendCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      to: { type: "string", multiple: true },
      cc: { type: "string", multiple: true },
      bcc: { type: "string", multiple: true },
      "reply-to": { type: "string", multiple: true },
      from: { type: "string" },
      subject: { type: "string" },
      text: { type: "string" },
      "text-file": { type: "string" },
      "html-file": { type: "string" },
      attach: { type: "string", multiple: true },
      "send-at": { type: "string" },
      "idempotency-key": { type: "string" },
      wait: { type: "boolean" },
      "timeout-seconds": { type: "string", default: "120" },
      "poll-interval-ms": { type: "string", default: "2000" },
      url: { type: "string" },
      key: { type: "string" },
    },
  });
  if (!values.subject || !(values.to ?? values.cc ?? values.bcc)) throw new CliError(sendUsage, 2);
  const endpoint = endpointFrom(io, values);
  const text = values["text-file"] ? await readFile(values["text-file"], "utf8") : values.text;
  const html = values["html-file"] ? await readFile(values["html-file"], "utf8") : undefined;
  const fields: Record<string, string | string[] | undefined> = {
    from: values.from,
    to: values.to,
    cc: values.cc,
    bcc: values.bcc,
    replyTo: values["reply-to"],
    subject: values.subject,
    text,
    html,
    sendAt: values["send-at"],
  };
  const headers = {
    ...authHeaders(endpoint),
    ...(values["idempotency-key"] ? { "idempotency-key": values["idempotency-key"] } : {}),
  };
  const url = `${endpoint.baseUrl}/v1/messages`;
  const attachments = values.attach ?? [];
  let status: number;
  let body: string;
  if (attachments.length === 0) {
    const json = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
    const response = await fetch(url, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: JSON.stringify(json),
    });
    status = response.status;
    body = await response.text();
  } else {
    const parts: FormPart[] = [];
    for (const [name, value] of Object.entries(fields)) {
      for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value])
        parts.push({ name, value: v });
    }
    for (const path of attachments) {
      const contentType = contentTypes[extname(path).toLowerCase()] ?? "application/octet-stream";
      parts.push({ name: "file", path, contentType });
    }
    const form = await multipartBody(parts).catch((error: NodeJS.ErrnoException) => {
      throw new CliError(`cannot read an attachment: ${error.message}`);
    });
    const response = await postMultipart(url, headers, form, progressPrinter(io.stderr));
    status = response.status;
    body = response.text;
  }
  if (status !== 202) throw problemError(status, body);
  const accepted = acceptedSchema.parse(JSON.parse(body));
  io.stdout.write(`${JSON.stringify(accepted, null, 2)}\n`);
  if (!values.wait) return 0;
  return waitForFinal(
    endpoint,
    accepted.id,
    io,
    Number(values["timeout-seconds"]) * 1000,
    Number(values["poll-interval-ms"]),
  );
}

/** Polls the status until it is final or the time is up; exit code 0 only for `sent`. */
async function waitForFinal(
  endpoint: Endpoint,
  id: string,
  io: CliIo,
  timeoutMs: number,
  pollIntervalMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    const record = statusSchema.parse(await getJson(endpoint, `/v1/messages/${encodeURIComponent(id)}`));
    if (record.status !== last) io.stderr.write(`status: ${record.status}\n`);
    last = record.status;
    if (finalStatuses.has(record.status)) {
      io.stdout.write(`${JSON.stringify(record, null, 2)}\n`);
      return record.status === "sent" ? 0 : 1;
    }
    await sleep(pollIntervalMs);
  }
  throw new CliError(
    `message ${id} is still ${last} after ${Math.round(timeoutMs / 1000)} s; check later with 'mailhook status ${id}'`,
  );
}
