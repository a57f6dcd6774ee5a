import { app } from "@azure/functions";
import { contextLogger, dequeueCount } from "../shared/host/azure/functions.js";
import { runtime } from "../shared/host/azure/runtime.js";
import { failMessage } from "../shared/app/dispatchMessage.js";
import { defaultStorageNames } from "../shared/storage/azure/account.js";

app.storageQueue("failMessage", {
  queueName: defaultStorageNames.poisonQueue,
  connection: "AzureWebJobsStorage",
  handler: async (item, context) => {
    const { dispatchDeps } = await runtime();
    await failMessage(item, dequeueCount(context), dispatchDeps(contextLogger(context)));
  },
});
