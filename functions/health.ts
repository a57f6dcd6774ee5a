import { app } from "@azure/functions";
import { httpTrigger } from "../shared/host/azure/functions.js";
import { healthRoute } from "../shared/api/operations/health.js";

app.http("health", httpTrigger(healthRoute));
