import { createHash, randomBytes, randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import type { ReadableStream } from "node:stream/web";
import { jsonMessageSchema, type StoredAttachment, sanitizeFileName } from "../shared/domain/message.js";
import { ProblemError } from "../shared/domain/problem.js";
import { validate } from "../shared/domain/validate.js";
import { limitedBody } from "../shared/intake/body.js";
import { checkIn } from "../shared/intake/claimCheck.js";
import { bodyLimitsFor } from "../shared/intake/readMessage.js";
import { azureStorage } from "../shared/storage/azure/account.js";

/**
 * The baseline of `npm run bench -- json`: JSON intake as it was before it streamed (the whole body in memory,
 * `JSON.parse`, the schema, every attachment decoded with `Buffer.from`, then the claim check uploading it), run
 * as a process of its own so the benchmark measures its memory the same way as the host's. It answers 202 once
 * the message is in Blob storage; status records and the queue, a few hundred bytes, are left out.
 * Settings: `AzureWebJobsStorage`, `MAX_MESSAGE_BYTES`. Prints `listening <port>`.
 */
const run = randomBytes(4).toString("hex");
const storage = azureStorage(
  { kind: "connectionString", connectionString: process.env.AzureWebJobsStorage ?? "" },
  {
    container: `bench-whole-json-${run}`,
    queue: `bench-whole-json-${run}`,
    poisonQueue: `bench-whole-json-${run}-poison`,
    webhookQueue: `bench-whole-json-${run}-webhooks`,
    table: `benchwholejson${run}`,
    pacing: `benchwholejsonpacing${run}`,
    idempotency: `benchwholejsonkeys${run}`,
    activity: `benchwholejsonactivity${run}`,
  },
);
await storage.ensure();
const limits = bodyLimitsFor(Number(process.env.MAX_MESSAGE_BYTES ?? 36_700_160));

async function accept(body: ReadableStream<Uint8Array>): Promise<string> {
  const id = randomUUID();
  const bytes = await buffer(limitedBody(body, limits));
  const json = validate(
    jsonMessageSchema,
    JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes)),
  );
  const inlineBytes = new Map<number, Buffer>();
  const attachments = json.attachments.map((a, index): StoredAttachment => {
    const content = Buffer.from(a.contentBase64, "base64");
    inlineBytes.set(index, content);
    return {
      name: sanitizeFileName(a.name, `attachment-${index + 1}`),
      contentType: a.contentType?.toLowerCase() ?? "application/octet-stream",
      size: content.length,
      sha256: createHash("sha256").update(content).digest("hex"),
      contentBase64: a.contentBase64,
    };
  });
  const { attachments: _json, ...fields } = json;
  const message = {
    ...fields,
    v: 1 as const,
    id,
    clientId: "bench",
    from: fields.from ?? { address: "dev@mailhook.local" },
  };
  await checkIn({ ...message, attachments }, inlineBytes, storage.messages);
  return id;
}

const server = createServer((req, res) => {
  accept(Readable.toWeb(req) as ReadableStream<Uint8Array>).then(
    (id) => {
      res.writeHead(202, { "content-type": "application/json" }).end(JSON.stringify({ id }));
    },
    (error: unknown) => {
      const status = error instanceof ProblemError ? error.status : 500;
      res.writeHead(status, { "content-type": "text/plain" }).end(String(error));
    },
  );
});
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`);
});
