/**
 * The recorder's folder, zipped (`recorder-bundle`): `input/<n>.json`, one event per file, and
 * `screenshot/<timestamp>/` holding one `*.json` describing the shot and one image. A zip made of the folder itself
 * (`recording/input/1.json`) is read the same way: the first entry that looks like the layout sets the root. What
 * is not part of the layout is ignored (directory entries, macOS's `__MACOSX/` and `.DS_Store`, other files).
 * Names that leave the folder (`../`, absolute paths) never get here: yauzl refuses the whole zip for them.
 */

export const IMAGE_EXTENSIONS: Record<string, string> = { png: 'png', jpg: 'jpeg', jpeg: 'jpeg', webp: 'webp' };

export type BundleEntry =
  | { kind: 'input' }
  | { kind: 'screenshot-meta'; folder: string }
  | { kind: 'screenshot-image'; folder: string; extension: string }
  | { kind: 'ignored' };

const LAYOUT = /^(?:([^/]+)\/)?(input|screenshot)\//;

export class BundleLayout {
  /** The folder the layout is in ('' at the top), once an entry has shown it. */
  #root: string | undefined;

  classify(name: string): BundleEntry {
    if (name.endsWith('/')) return { kind: 'ignored' };
    const segments = name.split('/');
    if (segments[0] === '__MACOSX' || segments.some((segment) => segment === '.DS_Store' || segment === 'Thumbs.db')) {
      return { kind: 'ignored' };
    }
    if (this.#root === undefined) {
      const match = LAYOUT.exec(name);
      if (!match) return { kind: 'ignored' };
      this.#root = match[1] === undefined ? '' : `${match[1]}/`;
    }
    if (!name.startsWith(this.#root)) return { kind: 'ignored' };
    const [area, ...rest] = name.slice(this.#root.length).split('/');
    if (area === 'input' && rest.length === 1 && rest[0]!.toLowerCase().endsWith('.json')) return { kind: 'input' };
    if (area === 'screenshot' && rest.length === 2 && rest[0] !== '') {
      const [folder, file] = rest as [string, string];
      const extension = file.includes('.') ? file.slice(file.lastIndexOf('.') + 1).toLowerCase() : '';
      if (extension === 'json') return { kind: 'screenshot-meta', folder };
      const format = IMAGE_EXTENSIONS[extension];
      if (format) return { kind: 'screenshot-image', folder, extension: format };
    }
    return { kind: 'ignored' };
  }
}

/** Magic bytes of the image formats a screenshot may be in. */
export function imageFormatOf(head: Buffer): string | undefined {
  if (head.length >= 8 && head.readUInt32BE(0) === 0x89504e47 && head.readUInt32BE(4) === 0x0d0a1a0a) return 'png';
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg';
  if (head.length >= 12 && head.toString('latin1', 0, 4) === 'RIFF' && head.toString('latin1', 8, 12) === 'WEBP') return 'webp';
  return undefined;
}
