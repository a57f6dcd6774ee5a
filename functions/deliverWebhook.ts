import { app } from "@azure/functions";
import { contextLogger } from "../shared/azure/functions.js";
import { runtime } from "../shared/azure/runtime.js";
import { defaultStorageNames } from "../shared/storage/azure.js";
import { deliverWebhook } from "../shared/webhooks/deliver.js";

app.storageQueue("deliverWebhook", {
  queueName: defaultStorageNames.webhookQueue,
  connection: "AzureWebJobsStorage",
  handler: async (item, context) => {
    const { webhookDeps } = await runtime();
    await deliverWebhook(item, webhookDeps(contextLogger(context)));
  },
});
