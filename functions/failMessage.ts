import { registerQueueFunction } from "../shared/host/azure/functions.js";

registerQueueFunction("failMessage");
