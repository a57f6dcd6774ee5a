import { app } from "@azure/functions";
import { httpTrigger } from "../shared/host/azure/functions.js";
import { getQuotaRoute } from "../shared/api/operations/getQuota.js";

app.http("getQuota", httpTrigger(getQuotaRoute));
