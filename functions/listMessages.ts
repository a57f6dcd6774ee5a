import { app } from "@azure/functions";
import { httpTrigger } from "../shared/host/azure/functions.js";
import { listMessagesRoute } from "../shared/api/operations/listMessages.js";

app.http("listMessages", httpTrigger(listMessagesRoute));
