import { consoleRoute } from "./console/route.js";
import type { Route } from "./http.js";
import { openApiRoute } from "./openapi/route.js";
import { cancelMessageRoute } from "./operations/cancelMessage.js";
import { getCallerRoute } from "./operations/getCaller.js";
import { getIdentityRoute } from "./operations/getIdentity.js";
import { getMessageRoute } from "./operations/getMessage.js";
import { getOverviewRoute } from "./operations/getOverview.js";
import { getQuotaRoute } from "./operations/getQuota.js";
import { healthRoute } from "./operations/health.js";
import { listMailboxesRoute } from "./operations/listMailboxes.js";
import { listMessagesRoute } from "./operations/listMessages.js";
import { retryMessageRoute } from "./operations/retryMessage.js";
import { retryMessagesRoute } from "./operations/retryMessages.js";
import { submitMessageRoute } from "./operations/submitMessage.js";

/**
 * Every HTTP operation, declared once: `functions/<name>.ts` registers each by name with the Functions host
 * (a test holds the two together), the local host serves this table, and the OpenAPI document describes it.
 */
export const routes: readonly Route[] = [
  submitMessageRoute,
  getMessageRoute,
  cancelMessageRoute,
  listMessagesRoute,
  retryMessageRoute,
  retryMessagesRoute,
  healthRoute,
  openApiRoute(() => routes),
  getQuotaRoute,
  getIdentityRoute,
  listMailboxesRoute,
  getOverviewRoute,
  getCallerRoute,
  consoleRoute(),
];

/** The route a Function is registered for; throws when the table has no such name. */
export function routeNamed(name: string): Route {
  const route = routes.find((r) => r.name === name);
  if (!route) throw new Error(`no route named ${name} in shared/api/routes.ts`);
  return route;
}
