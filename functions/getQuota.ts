import { app } from "@azure/functions";
import { httpTrigger } from "../shared/azure/functions.js";
import { getQuotaRoute } from "../shared/http/getQuota.js";

app.http("getQuota", httpTrigger(getQuotaRoute));
