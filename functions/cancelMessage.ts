import { app } from "@azure/functions";
import { httpTrigger } from "../shared/host/azure/functions.js";
import { cancelMessageRoute } from "../shared/api/operations/cancelMessage.js";

app.http("cancelMessage", httpTrigger(cancelMessageRoute));
