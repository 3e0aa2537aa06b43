/** What every command gets: where to print, and the API (connected on first use, so `--help` needs no key). */
import { connect, type Api } from './api.js';
import type { Output } from './output.js';
import { resolveSettings, type Settings } from './settings.js';

export interface CommandContext {
  out: Output;
  settings(): Settings;
  api(): Api;
}

export function commandContext(out: Output, flags: () => { baseUrl?: string | undefined }): CommandContext {
  let api: Api | undefined;
  const settings = () => resolveSettings(flags());
  return {
    out,
    settings,
    api: () => (api ??= connect(settings(), out.log)),
  };
}
