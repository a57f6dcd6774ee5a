import type { Route } from "./http.js";
import { cancelMessageRoute } from "./operations/cancelMessage.js";
import { getMessageRoute } from "./operations/getMessage.js";
import { getQuotaRoute } from "./operations/getQuota.js";
import { healthRoute } from "./operations/health.js";
import { listMessagesRoute } from "./operations/listMessages.js";
import { openApiRoute } from "./openapi/document.js";
import { retryMessageRoute } from "./operations/retryMessage.js";
import { submitMessageRoute } from "./operations/submitMessage.js";

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
