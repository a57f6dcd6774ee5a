import { app } from "@azure/functions";
import { httpTrigger } from "../shared/host/azure/functions.js";
import { getMessageRoute } from "../shared/api/operations/getMessage.js";

app.http("getMessage", httpTrigger(getMessageRoute));
