import { registerHttpFunction } from "../shared/host/azure/functions.js";

registerHttpFunction("retryMessages");
