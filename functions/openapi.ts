import { app } from "@azure/functions";
import { httpTrigger } from "../shared/host/azure/functions.js";
import { openApiRoute } from "../shared/api/openapi/document.js";

app.http("openapi", httpTrigger(openApiRoute));
