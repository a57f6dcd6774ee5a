import { app } from "@azure/functions";
import { dispatchMessage } from "../shared/app/dispatchMessage.js";
import { contextLogger } from "../shared/host/azure/functions.js";
import { runtime } from "../shared/host/azure/runtime.js";
import { defaultStorageNames } from "../shared/storage/azure/account.js";

app.storageQueue("dispatchMessage", {
  queueName: defaultStorageNames.queue,
  connection: "AzureWebJobsStorage",
  handler: async (item, context) => {
    const { dispatchDeps } = await runtime();
    await dispatchMessage(item, dispatchDeps(contextLogger(context)));
  },
});
