import { app } from "@azure/functions";
import { httpTrigger } from "../shared/azure/functions.js";
import { cancelMessageRoute } from "../shared/http/cancelMessage.js";

app.http("cancelMessage", httpTrigger(cancelMessageRoute));
