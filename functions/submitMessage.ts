import { app } from "@azure/functions";
import { httpTrigger } from "../shared/azure/functions.js";
import { submitMessageRoute } from "../shared/http/submitMessage.js";

app.http("submitMessage", httpTrigger(submitMessageRoute));
