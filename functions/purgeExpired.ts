import { app } from "@azure/functions";
import { contextLogger } from "../shared/host/azure/functions.js";
import { runtime } from "../shared/host/azure/runtime.js";
import { purgeExpired } from "../shared/app/purgeExpired.js";

// Daily at 03:17 UTC: deletes what is past its retention (STATUS_RETENTION_DAYS, FAILED_MESSAGE_RETENTION_DAYS).
app.timer("purgeExpired", {
  schedule: "0 17 3 * * *",
  handler: async (_timer, context) => {
    const { services } = await runtime();
    await purgeExpired({ ...services, log: contextLogger(context) });
  },
});
