/**
 * A blob trigger's `path`: `container/<blob name pattern>`, where `{token}`s capture parts of the blob name and
 * become trigger metadata (https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-blob-trigger#blob-name-patterns).
 * As in the WebJobs SDK, each token matches greedily and may span `/`, so `uploads/{name}` matches
 * `uploads/a/b.jsonl` with name `a/b.jsonl`; `{{` and `}}` are literal braces. A path that is only a container
 * matches every blob in it.
 */
export interface BlobPathPattern {
  container: string;
  /** The literal start of the blob name pattern: the listing prefix. */
  prefix: string;
  tokens: string[];
  /** The token values when `blobName` matches, else undefined. */
  match(blobName: string): Record<string, string> | undefined;
}

export function parseBlobPath(path: string): BlobPathPattern {
  const trimmed = path.trim().replace(/^\/+/, '');
  const slash = trimmed.indexOf('/');
  const container = slash < 0 ? trimmed : trimmed.slice(0, slash);
  const namePattern = slash < 0 ? '' : trimmed.slice(slash + 1);
  if (!/^[a-z0-9][a-z0-9-]{2,62}$/.test(container) && container !== '$root' && container !== '$logs') {
    throw new Error(`Blob trigger path "${path}": "${container}" is not a literal container name.`);
  }

  const tokens: string[] = [];
  let source = '';
  let prefix = '';
  let sawToken = false;
  for (let i = 0; i < namePattern.length; i++) {
    const c = namePattern[i] as string;
    const next = namePattern[i + 1];
    if ((c === '{' && next === '{') || (c === '}' && next === '}')) {
      source += escapeRegex(c);
      if (!sawToken) prefix += c;
      i++;
    } else if (c === '{') {
      const close = namePattern.indexOf('}', i + 1);
      if (close < 0) throw new Error(`Blob trigger path "${path}": unclosed "{".`);
      const token = namePattern.slice(i + 1, close).trim();
      if (!token) throw new Error(`Blob trigger path "${path}": empty "{}".`);
      tokens.push(token);
      source += '(.*)';
      sawToken = true;
      i = close;
    } else {
      source += escapeRegex(c);
      if (!sawToken) prefix += c;
    }
  }
  const regex = namePattern === '' ? /^.*$/s : new RegExp(`^${source}$`, 's');
  return {
    container,
    prefix,
    tokens,
    match(blobName) {
      const m = regex.exec(blobName);
      if (!m) return undefined;
      const values: Record<string, string> = {};
      tokens.forEach((token, index) => {
        values[token] = m[index + 1] ?? '';
      });
      return values;
    },
  };
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
