import type { Route } from "./api.js";
import { cancelMessageRoute } from "./cancelMessage.js";
import { getMessageRoute } from "./getMessage.js";
import { getQuotaRoute } from "./getQuota.js";
import { healthRoute } from "./health.js";
import { listMessagesRoute } from "./listMessages.js";
import { openApiRoute } from "./openapi.js";
import { retryMessageRoute } from "./retryMessage.js";
import { submitMessageRoute } from "./submitMessage.js";

/** Every HTTP operation; the Functions app registers each one and the local host serves the same table. */
export const routes: readonly Route[] = [
  submitMessageRoute,
  getMessageRoute,
  cancelMessageRoute,
  listMessagesRoute,
  retryMessageRoute,
  healthRoute,
  openApiRoute,
  getQuotaRoute,
];
