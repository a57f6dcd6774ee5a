import { app } from "@azure/functions";
import { httpTrigger } from "../shared/azure/functions.js";
import { openApiRoute } from "../shared/http/openapi.js";

app.http("openapi", httpTrigger(openApiRoute));
