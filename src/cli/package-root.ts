// Where the installed package lives, so deploy/crds is found from dist/ and from a global install alike.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'deploy'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the sluice package root (package.json next to deploy/)');
    dir = up;
  }
  return dir;
}
