import type { Route } from "./api.js";
import { getMessageRoute } from "./getMessage.js";
import { healthRoute } from "./health.js";
import { submitMessageRoute } from "./submitMessage.js";

/** Every HTTP operation; the Functions app registers each one and the local host serves the same table. */
export const routes: readonly Route[] = [submitMessageRoute, getMessageRoute, healthRoute];
