import { app } from "@azure/functions";
import { httpTrigger } from "../shared/azure/functions.js";
import { getMessageRoute } from "../shared/http/getMessage.js";

app.http("getMessage", httpTrigger(getMessageRoute));
