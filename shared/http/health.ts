import { type Handler, jsonResponse, type Route } from "./api.js";

/** `GET /api/health`: liveness, no key needed, no detail that helps an attacker. */
const health: Handler = async (_request, services) =>
  jsonResponse(200, { status: "ok", time: services.clock.now().toISOString() });

export const healthRoute: Route = { name: "health", methods: ["GET"], route: "health", handler: health };
