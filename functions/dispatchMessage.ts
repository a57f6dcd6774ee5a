import { app } from "@azure/functions";
import { dispatchMessage } from "../shared/dispatch/dispatch.js";
import { contextLogger } from "../shared/azure/functions.js";
import { runtime } from "../shared/azure/runtime.js";
import { defaultStorageNames } from "../shared/storage/azure.js";

app.storageQueue("dispatchMessage", {
  queueName: defaultStorageNames.queue,
  connection: "AzureWebJobsStorage",
  handler: async (item, context) => {
    const { dispatchDeps } = await runtime();
    await dispatchMessage(item, dispatchDeps(contextLogger(context)));
  },
});
