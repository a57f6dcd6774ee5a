import { readFileSync } from "node:fs";
import { z } from "zod";

/** "hh:mm:ss" (the Functions host's TimeSpan format) in milliseconds. */
const timeSpan = z
  .string()
  .regex(/^\d{2}:\d{2}:\d{2}$/)
  .transform((span) => {
    const [h = 0, m = 0, s = 0] = span.split(":").map(Number);
    return ((h * 60 + m) * 60 + s) * 1000;
  });

const hostJsonSchema = z.object({
  extensions: z.object({
    http: z.object({ routePrefix: z.string().default("api") }).default({ routePrefix: "api" }),
    queues: z.object({
      batchSize: z.number().int().min(1).max(32),
      newBatchThreshold: z.number().int().min(0),
      maxDequeueCount: z.number().int().min(1),
      visibilityTimeout: timeSpan,
      maxPollingInterval: timeSpan,
      messageEncoding: z.literal("base64"),
    }),
  }),
});

export type QueueSettings = z.infer<typeof hostJsonSchema>["extensions"]["queues"];

/** The queue and HTTP settings of `host.json`, so the local host behaves as the Functions host would. */
export function readHostSettings(hostJsonPath: string) {
  return hostJsonSchema.parse(JSON.parse(readFileSync(hostJsonPath, "utf8"))).extensions;
}
