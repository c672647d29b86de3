// Regenerates the committed manifests in deploy/kubernetes/base/. From the repository root:
//   npx tsc -p tsconfig.json && node dist/deploy/kubernetes/src/generate.js
// A test renders them in memory and fails on any difference with the committed files.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { renderBase } from './manifests.js';

const dir = resolve(process.argv[2] ?? '.', 'deploy', 'kubernetes', 'base');
mkdirSync(dir, { recursive: true });
for (const [file, text] of renderBase()) {
  writeFileSync(join(dir, file), text);
  process.stdout.write(`wrote ${join(dir, file)}\n`);
}
