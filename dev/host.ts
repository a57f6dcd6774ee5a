import { join } from "node:path";
import { routes } from "../shared/api/routes.js";
import { ConfigError, loadConfig } from "../shared/config.js";
import { composeServices } from "../shared/host/compose.js";
import { queueFunctions, timerFunctions } from "../shared/host/functions.js";
import { jsonLogger, textLogger } from "../shared/log.js";
import { readHostSettings } from "./hostSettings.js";
import { serveRoutes } from "./httpServer.js";
import { LocalQueueTrigger } from "./queueTrigger.js";
import { loadLocalSettings, projectRoot } from "./settings.js";

/**
 * The local stand-in for the Azure Functions host: the same route table and queue functions, configured by
 * the same app settings (environment variables). `dev/start.ts` starts it with Azurite and the SMTP sink.
 */
async function main(): Promise<void> {
  const local = loadLocalSettings(process.env);
  const write = (level: "info" | "warn" | "error", line: string) =>
    (level === "info" ? process.stdout : process.stderr).write(`${line}\n`);
  // Short lines for a person at a terminal; JSON for a pipe, a file or MAILHOOK_LOG=json (as in Azure).
  const format = local.MAILHOOK_LOG ?? (process.stdout.isTTY ? "text" : "json");
  const log = format === "text" ? textLogger(write) : jsonLogger(write);
  const config = loadConfig(process.env);
  const host = readHostSettings(join(projectRoot(), "host.json"));
  const composed = await composeServices(config);
  const { storage, services } = composed;
  const { server, url } = await serveRoutes(routes, host.http.routePrefix, services, log, local.PORT);

  const poisonOf = (name: string) => storage.queueClientFor(`${name}-poison`);
  // The Functions host's triggers, from the same table functions/*.ts registers.
  const triggers = queueFunctions.map((fn) => {
    const queue = storage.queueClientFor(storage.names[fn.queue]);
    return new LocalQueueTrigger(
      queue,
      poisonOf(queue.name),
      host.queues,
      (item, delivery) => fn.run(item, delivery, composed, log),
      log,
      { arrivals: storage.arrivals },
    );
  });
  for (const trigger of triggers) trigger.start();
  // The timer functions (daily in Azure), hourly here.
  const timers = timerFunctions.map((fn) =>
    setInterval(
      () => fn.run(composed, log).catch((error) => log.error(`${fn.name} failed`, { error: String(error) })),
      3600_000,
    ),
  );
  log.info("local host listening", { url });
  process.send?.({ type: "ready", url });

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    for (const timer of timers) clearInterval(timer);
    server.close();
    server.closeAllConnections();
    await Promise.all(triggers.map((t) => t.stop()));
    await composed.close();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  // Started by dev/start.ts: when the launcher goes away, so does the host.
  process.on("disconnect", stop);
}

main().catch((error) => {
  process.stderr.write(
    `${error instanceof ConfigError ? error.message : error instanceof Error ? error.stack : error}\n`,
  );
  process.exit(1);
});
