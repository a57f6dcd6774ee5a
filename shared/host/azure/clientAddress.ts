/**
 * The caller's address on Azure App Service and Azure Functions (Flex Consumption runs on the same front
 * ends): the front end adds a `client-ip` header "as part of routing" and "will overwrite any existing header
 * so they cannot be spoofed" (Azure App Service on Linux docs, "Headers on Azure App Service":
 * https://github.com/Azure/app-service-linux-docs/blob/master/Things_You_Should_Know/headers.md). It may carry
 * the client's port; the limiter drops it. X-Forwarded-For is not used: the front end appends to what the
 * caller sent, so its first hop is the caller's choice. Behind another proxy (Front Door, Application
 * Gateway) this is that proxy's address, and every caller behind it shares one limit.
 */
export function clientAddress(headers: Headers): string {
  return headers.get("client-ip")?.trim() || "unknown";
}
