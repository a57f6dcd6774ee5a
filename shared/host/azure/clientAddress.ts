/**
 * The caller's address on Azure App Service and Azure Functions: the App Service front end adds a
 * `client-ip` header "as part of routing" and "will overwrite any existing header so they cannot be spoofed"
 * (Azure App Service on Linux docs, "Headers on Azure App Service":
 * https://github.com/Azure/app-service-linux-docs/blob/master/Things_You_Should_Know/headers.md; an earlier
 * revision of that page named it `x-client-ip`). It may carry the client's port; the limiter drops it.
 * X-Forwarded-For is not used: proxies append to it (RFC 7239 §4 describes the same for `Forwarded`), so its
 * first entry is whatever the caller sent, and Microsoft documents no overwrite of it. Behind another proxy
 * (Front Door, Application Gateway) this is that proxy's address, and its callers share one limit. That Flex
 * Consumption's front ends set `client-ip` as App Service's do is assumed, not verified here.
 */
export function clientAddress(headers: Headers): string {
  return headers.get("client-ip")?.trim() || "unknown";
}
