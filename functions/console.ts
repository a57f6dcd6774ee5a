import { registerHttpFunction } from "../shared/host/azure/functions.js";

registerHttpFunction("console");
