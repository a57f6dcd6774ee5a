import { app } from "@azure/functions";
import { httpTrigger } from "../shared/azure/functions.js";
import { healthRoute } from "../shared/http/health.js";

app.http("health", httpTrigger(healthRoute));
