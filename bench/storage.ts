import { spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { odata, TableClient } from "@azure/data-tables";
import { QueueClient } from "@azure/storage-queue";
import { startAzurite } from "../dev/azurite.js";
import { readHostSettings } from "../dev/hostSettings.js";
import { LocalQueueTrigger } from "../dev/queueTrigger.js";
import { projectRoot } from "../dev/settings.js";
import { ensureLocalCertificate } from "../dev/tls.js";
import { submitMessageRoute } from "../shared/api/operations/submitMessage.js";
import { loadConfig } from "../shared/config.js";
import { type Client, sha256Hex } from "../shared/domain/client.js";
import { composeServices } from "../shared/host/compose.js";
import { queueFunctions } from "../shared/host/functions.js";
import { silentLogger } from "../shared/log.js";
import type { StorageNames } from "../shared/storage/azure/account.js";
import { type CountedRequest, startCountingProxy } from "../test/support/countingProxy.js";
import { startFakeGraph } from "../test/support/fakeGraph.js";
import { call } from "../test/support/http.js";
import { startSmtpPeer } from "../test/support/smtpPeer.js";
import { printTable } from "./table.js";

/**
 * Storage requests per delivered message, counted at the storage endpoint (a counting proxy in front of
 * Azurite): messages submitted through the real HTTP handler while no trigger runs (intake), then dispatched by
 * the local host's queue triggers with host.json's settings through the real dispatcher, half to the loopback
 * fake Graph (drafts), half to an SMTP peer (dispatch; the triggers' own receive, delete and lease renewals are
 * "polling", what the Functions runtime does in Azure). Then the idle triggers' polls over a quiet spell.
 * Runs in a child process that trusts the peers' certificate (NODE_EXTRA_CA_CERTS is read at start-up).
 */
interface Scenario {
  queued: number;
  mailboxes: number;
  /** The limit each mailbox is paced to. */
  limit: string;
  env: Record<string, string>;
}
const exchangeLimit = { limit: "30 per minute", env: {} };
const scenarios: readonly Scenario[] = [
  { queued: 100, mailboxes: 10, ...exchangeLimit },
  { queued: 1000, mailboxes: 100, ...exchangeLimit },
  // 100 messages per mailbox under a short window: most wait for their slot (deferred, booked, woken).
  {
    queued: 1000,
    mailboxes: 10,
    limit: "20 per 4 s",
    env: {
      MAILBOX_MESSAGES_PER_MINUTE: "20",
      MAILBOX_MESSAGE_WINDOW_SECONDS: "4",
      PACING_CLOCK_SKEW_MS: "200",
    },
  },
];
// Idle polling: after the backlog drains, a settling spell (the back-off reaches its ceiling), then the count.
const idleSettleMs = 12_000;
const idleSpellMs = 24_000;
/**
 * The baseline, measured in the same run: the same code with the savings off (`StorageSavings.remember`
 * false: every update reads first, no group commit, a random counter shard each time; triggers that hear of
 * nothing and back off to maxPollingInterval only). The previous release also listed a sent message's blobs
 * (one request more per message) where this one deletes only what the record says exists.
 */
const modes = [
  { name: "savings off (baseline)", remember: false },
  { name: "this release", remember: true },
] as const;
const graphDelayMs = 20;

export async function run(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "mailhook-bench-storage-"));
  try {
    const tls = await ensureLocalCertificate(join(dir, "tls"));
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [fileURLToPath(import.meta.url), "--child"], {
        env: { ...process.env, NODE_EXTRA_CA_CERTS: tls.certPath, MAILHOOK_BENCH_TLS: JSON.stringify(tls) },
        stdio: ["ignore", "inherit", "inherit"],
      });
      child.once("exit", (code) =>
        code === 0 ? resolve() : reject(new Error(`storage benchmark exited with code ${code}`)),
      );
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface Tls {
  cert: string;
  key: string;
}

async function child(tls: Tls): Promise<void> {
  const azurite = await startAzurite();
  const proxy = await startCountingProxy(azurite);
  const password = randomBytes(12).toString("hex");
  const mailboxes = Math.max(...scenarios.map((s) => s.mailboxes));
  const smtp = await startSmtpPeer({
    tls,
    auth: {
      passwords: Object.fromEntries(
        Array.from({ length: mailboxes }, (_, i) => [`box${i}@contoso.com`, password]),
      ),
    },
  });
  const entra = {
    tenantId: "bench-tenant",
    clientId: randomUUID(),
    clientSecret: randomBytes(16).toString("hex"),
  };
  const graph = await startFakeGraph({ tls, ...entra, sendDelayMs: graphDelayMs, record: false });
  const rows: Record<string, string | number>[] = [];
  const idle: { mode: string; perHour: number; byQueue: string }[] = [];
  const operations = new Map<string, Map<string, number>>();
  try {
    for (const scenario of scenarios) {
      for (const mode of modes) {
        const result = await measure(scenario, mode, {
          proxy,
          direct: azurite.connectionString,
          env: {
            AzureWebJobsStorage: proxy.connectionString,
            SMTP_HOST: "localhost",
            SMTP_PORT: String(smtp.port),
            SMTP_AUTH: "basic",
            SMTP_PASSWORDS: JSON.stringify({ "*": password }),
            ENTRA_TENANT_ID: entra.tenantId,
            ENTRA_CLIENT_ID: entra.clientId,
            ENTRA_CLIENT_SECRET: entra.clientSecret,
            ENTRA_AUTHORITY_HOST: graph.url,
            GRAPH_ENDPOINT: graph.url,
          },
          measureIdle: scenario === scenarios[0],
        });
        rows.push(...result.rows);
        if (result.idle) idle.push({ mode: mode.name, ...result.idle });
        if (scenario !== scenarios[0])
          operations.set(
            `${scenario.mailboxes} mailboxes, ${scenario.limit}: ${mode.name}`,
            result.operations,
          );
      }
    }
  } finally {
    await graph.stop();
    await smtp.stop();
    await proxy.stop();
    await azurite.stop();
  }
  printTable(
    "Storage requests per delivered message at the storage endpoint (Azurite behind a counting proxy)",
    rows,
  );
  const keys = [...new Set([...operations.values()].flatMap((m) => [...m.keys()]))].sort();
  printTable(
    `Where they went at ${scenarios[1]?.queued} queued (both transports), per message`,
    keys.map((key) => ({
      "phase service store operation": key,
      ...Object.fromEntries([...operations].map(([column, counts]) => [column, counts.get(key) ?? 0])),
    })),
  );
  printTable(
    `Idle polling of the local host's ${queueFunctions.length} queue triggers (${idleSpellMs / 1000} s counted ` +
      `${idleSettleMs / 1000} s after the backlog drained)`,
    idle.map((i) => ({ mode: i.mode, "requests/hour": i.perHour, "by queue": i.byQueue })),
  );
}

interface Context {
  proxy: Awaited<ReturnType<typeof startCountingProxy>>;
  /** Azurite itself, not through the proxy: the benchmark's own checks are not counted. */
  direct: string;
  env: Record<string, string>;
  measureIdle: boolean;
}

async function measure(scenario: Scenario, mode: (typeof modes)[number], context: Context) {
  const keys = {
    graph: `mh_bench_${randomBytes(12).toString("hex")}`,
    smtp: `mh_bench_${randomBytes(12).toString("hex")}`,
  };
  const clients: Client[] = (["graph", "smtp"] as const).map((transport) => ({
    id: `bench-${transport}-${randomBytes(3).toString("hex")}`,
    keySha256: sha256Hex(keys[transport]),
    senders: ["*@contoso.com"],
    defaultSender: "box0@contoso.com",
    transport,
  }));
  const config = loadConfig({ ...context.env, ...scenario.env, MAILHOOK_CLIENTS: JSON.stringify(clients) });
  const names = benchNames();
  const composed = await composeServices(config, {
    storageNames: names,
    log: silentLogger,
    savings: { remember: mode.remember },
  });
  const { proxy } = context;
  const transportOf = new Map<string, string>();
  proxy.reset();

  // Intake: every message through the HTTP handler, 16 requests at a time, nothing dispatching yet.
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < scenario.queued) {
        const i = next++;
        const transport = i % 2 === 0 ? "graph" : "smtp";
        const response = await call(submitMessageRoute, composed, {
          headers: { authorization: `Bearer ${keys[transport]}`, "content-type": "application/json" },
          body: JSON.stringify({
            from: `box${i % scenario.mailboxes}@contoso.com`,
            to: ["alice@contoso.com"],
            subject: `Storage benchmark ${i}`,
            text: "One of many.",
          }),
        });
        if (response.status !== 202) throw new Error(`intake answered ${response.status}`);
        transportOf.set(String(response.json?.id), transport);
      }
    }),
  );
  const intake = [...proxy.requests()];
  proxy.reset();

  // Dispatch: the local host's triggers with host.json's settings, until every message is final.
  const host = readHostSettings(join(projectRoot(), "host.json"));
  const triggers = queueFunctions.map((fn) => {
    const queue = composed.storage.queueClientFor(composed.storage.names[fn.queue]);
    return new LocalQueueTrigger(
      queue,
      composed.storage.queueClientFor(`${queue.name}-poison`),
      host.queues,
      (item, delivery) => fn.run(item, delivery, composed, silentLogger),
      silentLogger,
      mode.remember ? { arrivals: composed.storage.arrivals } : {},
    );
  });
  const started = performance.now();
  for (const trigger of triggers) trigger.start();
  await untilDrained(context.direct, names, scenario.queued);
  const drainSeconds = (performance.now() - started) / 1000;
  const dispatch = [...proxy.requests()];
  proxy.reset();

  let idle: { perHour: number; byQueue: string } | undefined;
  if (context.measureIdle) {
    await new Promise((resolve) => setTimeout(resolve, idleSettleMs));
    proxy.reset();
    await new Promise((resolve) => setTimeout(resolve, idleSpellMs));
    const polls = proxy.requests().filter((r) => r.service === "queue");
    const byQueue = new Map<string, number>();
    for (const r of polls) byQueue.set(r.resource, (byQueue.get(r.resource) ?? 0) + 1);
    idle = {
      perHour: Math.round((polls.length * 3600_000) / idleSpellMs),
      byQueue: [...byQueue]
        .map(([queue, n]) => `${queueRole(queue, names)} ${Math.round((n * 3600_000) / idleSpellMs)}`)
        .join(", "),
    };
  }
  await Promise.all(triggers.map((t) => t.stop()));
  await composed.close();

  // Where the requests went, per message: each kind of store and what was done to it.
  const breakdown = new Map<string, number>();
  for (const [phase, requests] of [
    ["intake", intake],
    ["dispatch", dispatch],
  ] as const)
    for (const r of requests) {
      const key = `${phase} ${r.service} ${resourceRole(r.resource, names)} ${r.operation}${
        r.operation === "receive" && (r.received ?? 0) === 0 ? " (empty)" : ""
      }`;
      breakdown.set(key, (breakdown.get(key) ?? 0) + 1);
    }
  const operations = new Map(
    [...breakdown].map(([key, count]) => [key, Math.round((count / scenario.queued) * 100) / 100]),
  );

  const rows: Record<string, string | number>[] = [];
  const transports = mode.remember ? (["graph", "smtp", "all"] as const) : (["all"] as const);
  for (const transport of transports) {
    const ids = [...transportOf].filter(([, t]) => transport === "all" || t === transport).map(([id]) => id);
    const costs = perMessage(ids, new Set(transportOf.keys()), { intake, dispatch });
    rows.push({
      queued: scenario.queued,
      mailboxes: scenario.mailboxes,
      "limit per mailbox": scenario.limit,
      mode: mode.name,
      transport,
      "drain s": transport === "all" ? drainSeconds : "",
      intake: costs.intake,
      dispatch: costs.dispatch,
      polling: costs.polling,
      "mean/message": costs.total,
      "max/message": costs.max,
      "queue/table/blob": costs.byService,
      "idle polls in drain": transport === "all" ? costs.idlePolls : "",
    });
  }
  return { rows, idle, operations };
}

function queueRole(queue: string, names: StorageNames): string {
  if (queue === names.queue) return "outbound";
  if (queue === names.poisonQueue) return "poison";
  if (queue === names.webhookQueue) return "webhooks";
  return queue;
}

function resourceRole(resource: string, names: StorageNames): string {
  const roles: [string, string][] = [
    [names.table, "status"],
    [names.pacing, "pacing"],
    [names.activity, "activity"],
    [names.idempotency, "idempotency"],
    [names.container, "messages"],
  ];
  return resource
    .split(",")
    .map((r) => roles.find(([name]) => name === r)?.[1] ?? queueRole(r, names))
    .join(",");
}

// What the Functions runtime does with the trigger's queue, not the function: fetch, settle and renew.
const runtimeOperations = new Set(["receive", "delete", "update"]);

/**
 * Mean and max requests per message. A request naming messages is theirs (a receive's shared among those it
 * handed out, a table batch's among the records in it); one naming none (pacing state per mailbox, the
 * overview's counters, queue metadata) is shared evenly by every message of the run; a receive that handed out
 * nothing is idle polling, counted apart.
 */
function perMessage(
  ids: string[],
  all: ReadonlySet<string>,
  phases: { intake: readonly CountedRequest[]; dispatch: readonly CountedRequest[] },
) {
  const own = new Map<string, number>(ids.map((id) => [id, 0]));
  const sums = { intake: 0, dispatch: 0, polling: 0, queue: 0, table: 0, blob: 0 };
  let idlePolls = 0;
  for (const [phase, requests] of Object.entries(phases) as [keyof typeof phases, CountedRequest[]][]) {
    for (const r of requests) {
      if (r.operation === "receive" && (r.received ?? 0) === 0) {
        idlePolls++;
        continue;
      }
      const kind =
        phase === "intake"
          ? "intake"
          : r.service === "queue" && runtimeOperations.has(r.operation)
            ? "polling"
            : "dispatch";
      const named = r.messageIds.filter((id) => all.has(id));
      // Each message the request names takes an equal part of it; one naming none is every message's.
      const holders = named.length > 0 ? named : [...all];
      let share = 0;
      for (const id of holders) {
        const mine = own.get(id);
        if (mine === undefined) continue;
        own.set(id, mine + 1 / holders.length);
        share += 1 / holders.length;
      }
      sums[kind] += share;
      sums[r.service] += share;
    }
  }
  const n = ids.length;
  const round1 = (x: number) => Math.round(x * 10) / 10;
  return {
    intake: round1(sums.intake / n),
    dispatch: round1(sums.dispatch / n),
    polling: round1(sums.polling / n),
    total: round1((sums.intake + sums.dispatch + sums.polling) / n),
    max: round1(Math.max(...own.values())),
    byService: `${round1(sums.queue / n)} / ${round1(sums.table / n)} / ${round1(sums.blob / n)}`,
    idlePolls,
  };
}

async function untilDrained(connection: string, names: StorageNames, messages: number): Promise<void> {
  const table = TableClient.fromConnectionString(connection, names.table, { allowInsecureConnection: true });
  const queue = new QueueClient(connection, names.queue);
  // Bounded: a run that stalls fails instead of hanging.
  for (let round = 0; round < 1200; round++) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    let sent = 0;
    for await (const entity of table.listEntities<{ status: string }>({
      queryOptions: { filter: odata`status eq 'sent' or status eq 'failed'`, select: ["RowKey", "status"] },
    })) {
      // Every message must reach its provider: a run that fails them would count the wrong path.
      if (entity.status === "failed") throw new Error(`message ${entity.rowKey} failed in the benchmark`);
      sent++;
    }
    if (sent < messages) continue;
    // Every message final and its queue message settled: the dispatch phase is over.
    if (((await queue.getProperties()).approximateMessagesCount ?? 0) === 0) return;
  }
  throw new Error("the backlog did not drain within 10 minutes");
}

function benchNames(): StorageNames {
  const suffix = randomUUID().replaceAll("-", "").slice(0, 12);
  return {
    queue: `bench-${suffix}`,
    poisonQueue: `bench-${suffix}-poison`,
    container: `bench-${suffix}`,
    table: `benchstatus${suffix}`,
    pacing: `benchpacing${suffix}`,
    idempotency: `benchidem${suffix}`,
    webhookQueue: `benchhooks-${suffix}`,
    activity: `benchactivity${suffix}`,
  };
}

if (process.argv.includes("--child")) {
  await child(JSON.parse(process.env.MAILHOOK_BENCH_TLS ?? "{}") as Tls);
}
