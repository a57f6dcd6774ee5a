import { z } from "zod";
import { type Handler, jsonResponse, type Route } from "../http.js";

/** `GET /api/health`: liveness, no key needed, no detail that helps an attacker. */
const health: Handler<undefined> = async (_request, { services }) =>
  jsonResponse(200, { status: "ok", time: services.clock.now().toISOString() });

export const healthRoute: Route = {
  name: "health",
  methods: ["GET"],
  route: "api/health",
  access: "public",
  handler: health,
  doc: {
    operationId: "Health",
    summary: "Check health",
    description: "Liveness; needs no key.",
    responses: {
      200: { description: "Up.", schema: z.object({ status: z.literal("ok"), time: z.iso.datetime() }) },
    },
    // Flows have no use for a liveness probe.
    connector: false,
  },
};
