/**
 * App settings are environment variables, as in Azure (https://learn.microsoft.com/azure/azure-functions/functions-app-settings).
 * Binding properties may name a setting as `%Name%` (binding expressions, e.g. `schedule: '%SyncSchedule%'`);
 * a `connection` names the setting that holds a connection string, looked up as given and with the
 * `AzureWebJobs` prefix, `:` written `__` as Linux requires.
 */

export function readAppSetting(name: string): string | undefined {
  const candidates = [name, name.replace(/:/g, '__')];
  for (const candidate of candidates) {
    const value = process.env[candidate];
    if (value !== undefined && value !== '') return value;
  }
  return undefined;
}

/** Replaces `%Name%` with the setting's value; a missing setting is an error, as in Azure's indexing. */
export function resolveAppSettingExpressions(text: string): string {
  return text.replace(/%([^%]+)%/g, (_match, name: string) => {
    const value = readAppSetting(name);
    if (value === undefined) throw new Error(`App setting "${name}" (referenced as %${name}%) is not set.`);
    return value;
  });
}

/** The storage connection string a binding's `connection` refers to (default `AzureWebJobsStorage`). */
export function storageConnectionString(connection: unknown): string {
  const name = typeof connection === 'string' && connection.trim() !== '' ? connection.trim() : 'AzureWebJobsStorage';
  const value = readAppSetting(name) ?? readAppSetting(`AzureWebJobs${name}`);
  if (value === undefined) {
    throw new Error(
      `Storage connection "${name}" is not set: put a connection string in the environment variable ${name} ` +
        '(identity-based connections are not supported by the local host).',
    );
  }
  return value;
}
