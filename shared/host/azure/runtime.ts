import { loadConfig } from "../../config.js";
import { type Composed, composeServices } from "../compose.js";

let composed: Promise<Composed> | undefined;

/** The process-wide services under Azure Functions, composed on first use from the app settings. */
export function runtime(): Promise<Composed> {
  composed ??= composeServices(loadConfig(process.env));
  return composed;
}
