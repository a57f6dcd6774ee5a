import { app } from "@azure/functions";
import { httpTrigger } from "../shared/host/azure/functions.js";
import { submitMessageRoute } from "../shared/api/operations/submitMessage.js";

app.http("submitMessage", httpTrigger(submitMessageRoute));
