#!/usr/bin/env node
// The package's bin. The TypeScript sources are compiled to dist/ by `npm install` (the prepare script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write(
    'sluice: dist/ is missing; run `npm install` (or `npm run build`) in the sluice checkout first\n',
  );
  process.exit(1);
}
await import(main.href);
