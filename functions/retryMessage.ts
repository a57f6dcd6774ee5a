import { app } from "@azure/functions";
import { httpTrigger } from "../shared/azure/functions.js";
import { retryMessageRoute } from "../shared/http/retryMessage.js";

app.http("retryMessage", httpTrigger(retryMessageRoute));
