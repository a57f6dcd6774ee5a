/**
 * App Service and Azure Functions replace an app setting of the form `@Microsoft.KeyVault(...)` with the
 * secret's value. When that fails (the identity's role is not effective yet, the secret is missing, the vault
 * is unreachable), the app is handed the reference text itself; references are then refetched only every
 * 24 hours, on a configuration change, on restart, or when the refresh API is called.
 * (Microsoft Learn, "Use Key Vault references as app settings in Azure App Service and Azure Functions":
 * https://learn.microsoft.com/azure/app-service/app-service-key-vault-references#troubleshoot-key-vault-references)
 */
const referencePattern = /^\s*@Microsoft\.KeyVault\(/i;

// Enough of the reference to name the vault and the secret; it holds no secret value.
const shownLength = 160;

/** True when `value` is a Key Vault reference the platform did not resolve. */
export function isUnresolvedKeyVaultReference(value: string | undefined): boolean {
  return value !== undefined && referencePattern.test(value);
}

/**
 * One problem per setting that still holds a Key Vault reference, whatever the setting: the names (sorted),
 * and the line to show for each.
 */
export function unresolvedKeyVaultReferences(env: Record<string, string | undefined>): {
  names: Set<string>;
  problems: string[];
} {
  const names = Object.keys(env)
    .filter((name) => isUnresolvedKeyVaultReference(env[name]))
    .sort();
  return {
    names: new Set(names),
    problems: names.map((name) => {
      const reference = (env[name] ?? "").trim();
      const shown = reference.length > shownLength ? `${reference.slice(0, shownLength)}…` : reference;
      return (
        `${name}: this looks like an unresolved Key Vault reference (${shown}): the platform could not read ` +
        "the secret and passed the reference text on. Check that the app's identity holds Key Vault Secrets " +
        "User on the vault and that the secret exists, then refresh the references (`azd hooks run " +
        "postdeploy`, or POST <app resource id>/config/configreferences/appsettings/refresh) or restart the app."
      );
    }),
  };
}
