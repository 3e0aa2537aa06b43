import { linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import ignore from 'ignore';

/**
 * The deployment package of an azd `host: function` service, file for file, as azd builds it
 * (azure-dev cli/azd/pkg/project/project_utils.go createDeployableZip and pkg/rzip CreateFromDirectory):
 * - the service folder is walked entry by entry; an excluded folder is skipped whole (nothing under it can be
 *   brought back), and empty folders leave nothing in the zip;
 * - `.azure/` folders, the ignore file itself and, for Functions, `local.settings.json` files are always left out;
 * - every other path is matched against `.funcignore` with gitignore rules, relative to the service folder (azd uses
 *   github.com/denormal/go-gitignore; `ignore` implements the same rules: a pattern without a slash matches at any
 *   depth, a leading slash anchors it, a trailing slash matches folders only, `!` re-includes);
 * - symbolic links are followed: the zip holds the target's content under the link's name.
 * Without a `.funcignore`, azd would leave out `node_modules`; this project has one.
 */

export interface PackageEntry {
  /** Path inside the package, with forward slashes. */
  path: string;
  /** The file whose content goes there (a link's target, resolved). */
  source: string;
  size: number;
}

export function azdFunctionPackage(serviceDir: string, funcignoreText: string): PackageEntry[] {
  const matcher = ignore().add(funcignoreText.replace(/^\uFEFF/, ''));
  const entries: PackageEntry[] = [];
  const walk = (dir: string, prefix: string, depth: number) => {
    if (depth > 40) return; // rzip's bound on nested links
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      const link = lstatSync(full);
      const target = link.isSymbolicLink() ? statSync(full) : link;
      const isDir = target.isDirectory();
      const path = prefix + name;
      if (name === '.azure' && isDir) continue;
      if ((name === '.funcignore' || name === 'local.settings.json') && !isDir) continue;
      if (matcher.ignores(isDir ? `${path}/` : path)) continue;
      const source = link.isSymbolicLink() ? realpathSync(full) : full;
      if (isDir) walk(source, `${path}/`, link.isSymbolicLink() ? depth + 1 : depth);
      else entries.push({ path, source, size: target.size });
    }
  };
  walk(serviceDir, '', 0);
  return entries;
}

/** Lays the package out in `targetDir` as the zip would unpack there (hard links: same bytes, no copy). */
export function writePackage(entries: PackageEntry[], targetDir: string): void {
  for (const entry of entries) {
    const destination = join(targetDir, entry.path);
    mkdirSync(dirname(destination), { recursive: true });
    linkSync(entry.source, destination);
  }
}

interface LockPackage {
  dev?: boolean;
  devOptional?: boolean;
}

/**
 * The folders (relative to the project) of the packages `npm install --omit=dev` would install: package-lock.json
 * entries not marked dev (lockfile v3 marks every package only a devDependency needs). Only those present on disk:
 * an optional dependency for another platform is absent here as it is on the deploying machine.
 */
export function productionPackageDirs(projectDir: string): string[] {
  const lock = JSON.parse(readFileSync(join(projectDir, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockPackage>;
  };
  return Object.entries(lock.packages)
    .filter(([path, info]) => path !== '' && !info.dev && !info.devOptional)
    .map(([path]) => path)
    .filter((path) => {
      try {
        return statSync(join(projectDir, path)).isDirectory();
      } catch {
        return false;
      }
    });
}

/** Every file under `dir` (relative to `root`), not descending into nested node_modules (packages of their own). */
export function filesOfPackage(root: string, dir: string): string[] {
  const files: string[] = [];
  const walk = (relative: string) => {
    for (const name of readdirSync(join(root, relative))) {
      const path = `${relative}/${name}`;
      const stat = lstatSync(join(root, path));
      if (stat.isDirectory()) {
        if (name !== 'node_modules') walk(path);
      } else if (!stat.isSymbolicLink()) {
        files.push(path);
      }
    }
  };
  walk(dir);
  return files;
}
