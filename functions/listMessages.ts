import { app } from "@azure/functions";
import { httpTrigger } from "../shared/azure/functions.js";
import { listMessagesRoute } from "../shared/http/listMessages.js";

app.http("listMessages", httpTrigger(listMessagesRoute));
