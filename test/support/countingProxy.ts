import { createServer, request as forward, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { RunningAzurite } from "../../dev/azurite.js";

export type StorageService = "blob" | "queue" | "table";

/** One request as it reached the storage endpoint. */
export interface CountedRequest {
  service: StorageService;
  /** What the request did: `receive`, `put`, `delete`, `update` (queue); `read`, `query`, `insert`, `update`, `batch` (table); … */
  operation: string;
  /** The queue, table or container it named (`$batch` requests name the tables inside them). */
  resource: string;
  /** Message ids (UUIDs) the request named: in its path, its body (a table batch, a queue message) or its answer. */
  messageIds: string[];
  /** For a queue receive: how many messages it handed out. */
  received?: number;
  status: number;
}

const uuidPattern = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
// Azurite's well-known development account (the connection string names it).
const account = "devstoreaccount1";

/**
 * An HTTP proxy in front of Azurite on free loopback ports, one per service, that counts every request the
 * SDKs make (retries included) by service and operation, and notes which message ids each one names: what a
 * storage account would bill and throttle. Bodies are small in the benchmarks that use it; each is buffered
 * to read the ids from it.
 */
export async function startCountingProxy(azurite: Pick<RunningAzurite, "ports">) {
  const requests: CountedRequest[] = [];
  // Queue message ids (the service's) to the mailhook message ids their text carries.
  const queueMessages = new Map<string, string>();
  const servers: Server[] = [];
  const ports: Record<StorageService, number> = { blob: 0, queue: 0, table: 0 };

  for (const service of ["blob", "queue", "table"] as const) {
    const server = createServer((incoming, outgoing) => {
      void (async () => {
        const body = await readAll(incoming);
        const upstream = forward(
          {
            host: "127.0.0.1",
            port: azurite.ports[service],
            method: incoming.method,
            path: incoming.url,
            headers: incoming.headers,
          },
          (answer) => {
            void readAll(answer).then((answerBody) => {
              requests.push(
                classify(service, incoming, body, answer.statusCode ?? 0, answerBody, queueMessages),
              );
              outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
              outgoing.end(answerBody);
            });
          },
        );
        upstream.on("error", () => outgoing.destroy());
        upstream.end(body);
      })();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    ports[service] = (server.address() as AddressInfo).port;
    servers.push(server);
  }
  const endpoint = (service: StorageService) => `http://127.0.0.1:${ports[service]}/${account}`;
  return {
    connectionString: [
      "DefaultEndpointsProtocol=http",
      `AccountName=${account}`,
      "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
      `BlobEndpoint=${endpoint("blob")}`,
      `QueueEndpoint=${endpoint("queue")}`,
      `TableEndpoint=${endpoint("table")}`,
    ].join(";"),
    /** Every request counted so far, in the order their answers came. */
    requests: (): readonly CountedRequest[] => requests,
    /** Forgets what was counted (the next phase starts from zero). */
    reset(): void {
      requests.length = 0;
    },
    async stop(): Promise<void> {
      for (const server of servers) server.closeAllConnections();
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    },
  };
}

export type CountingProxy = Awaited<ReturnType<typeof startCountingProxy>>;

function readAll(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => resolve(Buffer.concat(chunks)));
    stream.on("error", reject);
  });
}

const idsIn = (text: string): string[] => [...new Set(text.match(uuidPattern) ?? [])];

/** The ids inside queue message texts (base64 JSON envelopes) of a request or an answer body. */
function envelopeIds(xml: string): { queueMessageId?: string; ids: string[] }[] {
  const found: { queueMessageId?: string; ids: string[] }[] = [];
  for (const match of xml.matchAll(/<QueueMessage>([\s\S]*?)<\/QueueMessage>/g)) {
    const part = match[1] ?? "";
    const text = /<MessageText>([\s\S]*?)<\/MessageText>/.exec(part)?.[1];
    const queueMessageId = /<MessageId>([\s\S]*?)<\/MessageId>/.exec(part)?.[1];
    const decoded = text ? Buffer.from(text, "base64").toString("utf8") : "";
    const id = /"id":"([^"]+)"/.exec(decoded)?.[1];
    found.push({ ...(queueMessageId ? { queueMessageId } : {}), ids: id ? [id] : [] });
  }
  return found;
}

function classify(
  service: StorageService,
  incoming: IncomingMessage,
  body: Buffer,
  status: number,
  answer: Buffer,
  queueMessages: Map<string, string>,
): CountedRequest {
  const url = new URL(incoming.url ?? "/", "http://proxy");
  const method = incoming.method ?? "GET";
  const segments = decodeURIComponent(url.pathname).split("/").filter(Boolean).slice(1); // without the account
  const params = url.searchParams;
  const base = { service, status };
  if (service === "queue") {
    const [queue = "", part, queueMessageId] = segments;
    const resource = queue;
    if (part !== "messages") {
      const operation = params.get("comp") === "metadata" ? "metadata" : method === "PUT" ? "create" : method;
      return { ...base, operation, resource, messageIds: [] };
    }
    if (queueMessageId) {
      const id = queueMessageId && queueMessages.get(queueMessageId);
      return {
        ...base,
        operation: method === "DELETE" ? "delete" : "update",
        resource,
        messageIds: id ? [id] : [],
      };
    }
    if (method === "POST") {
      const [sent] = envelopeIds(body.toString("utf8"));
      const [answered] = envelopeIds(answer.toString("utf8"));
      const ids = sent?.ids ?? [];
      if (answered?.queueMessageId && ids[0]) queueMessages.set(answered.queueMessageId, ids[0]);
      return { ...base, operation: "put", resource, messageIds: ids };
    }
    const handedOut = envelopeIds(answer.toString("utf8"));
    for (const m of handedOut)
      if (m.queueMessageId && m.ids[0]) queueMessages.set(m.queueMessageId, m.ids[0]);
    return {
      ...base,
      operation: params.get("peekonly") === "true" ? "peek" : "receive",
      resource,
      messageIds: handedOut.flatMap((m) => m.ids),
      received: handedOut.length,
    };
  }
  if (service === "table") {
    const first = segments[0] ?? "";
    if (first === "$batch") {
      const text = body.toString("utf8");
      // Each operation in the batch is a request line: `POST http://host/devstoreaccount1/<table> HTTP/1.1`.
      const line = new RegExp(`(?:POST|PUT|MERGE|PATCH|DELETE|GET) \\S*?/${account}/([A-Za-z0-9]+)`, "g");
      const tables = [...new Set([...text.matchAll(line)].map((m) => m[1]))];
      return { ...base, operation: "batch", resource: tables.join(","), messageIds: idsIn(text) };
    }
    const table = first.replace(/\(.*$/, "");
    if (table === "Tables") return { ...base, operation: "createTable", resource: table, messageIds: [] };
    const keyed = /\(PartitionKey=/.test(first);
    const operation =
      method === "GET"
        ? keyed
          ? "read"
          : "query"
        : method === "POST"
          ? "insert"
          : method === "DELETE"
            ? "delete"
            : incoming.headers["if-match"]
              ? "update"
              : "upsert";
    return { ...base, operation, resource: table, messageIds: idsIn(decodeURIComponent(first)) };
  }
  const [container = "", ...path] = segments;
  const comp = params.get("comp");
  const operation =
    params.get("restype") === "container"
      ? comp === "list"
        ? "list"
        : `container ${method}`
      : method === "PUT"
        ? comp === "block" || comp === "blocklist"
          ? comp
          : "upload"
        : method === "GET"
          ? "download"
          : method === "DELETE"
            ? "delete"
            : method;
  return {
    ...base,
    operation,
    resource: container,
    messageIds: idsIn(`${path.join("/")} ${params.get("prefix") ?? ""}`),
  };
}
