import { app } from "@azure/functions";
import { contextLogger, dequeueCount } from "../shared/azure/functions.js";
import { runtime } from "../shared/azure/runtime.js";
import { failMessage } from "../shared/dispatch/dispatch.js";
import { defaultStorageNames } from "../shared/storage/azure.js";

app.storageQueue("failMessage", {
  queueName: defaultStorageNames.poisonQueue,
  connection: "AzureWebJobsStorage",
  handler: async (item, context) => {
    const { dispatchDeps } = await runtime();
    await failMessage(item, dequeueCount(context), dispatchDeps(contextLogger(context)));
  },
});
