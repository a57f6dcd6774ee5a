import { app } from "@azure/functions";
import { contextLogger } from "../shared/host/azure/functions.js";
import { runtime } from "../shared/host/azure/runtime.js";
import { defaultStorageNames } from "../shared/storage/azure/account.js";
import { deliverWebhook } from "../shared/app/deliverWebhook.js";

app.storageQueue("deliverWebhook", {
  queueName: defaultStorageNames.webhookQueue,
  connection: "AzureWebJobsStorage",
  handler: async (item, context) => {
    const { webhookDeps } = await runtime();
    await deliverWebhook(item, webhookDeps(contextLogger(context)));
  },
});
