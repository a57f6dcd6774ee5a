import { registerTimerFunction } from "../shared/host/azure/functions.js";

registerTimerFunction("purgeExpired");
