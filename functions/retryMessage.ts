import { app } from "@azure/functions";
import { httpTrigger } from "../shared/host/azure/functions.js";
import { retryMessageRoute } from "../shared/api/operations/retryMessage.js";

app.http("retryMessage", httpTrigger(retryMessageRoute));
