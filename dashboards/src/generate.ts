// Regenerates the committed mixin files: dashboards/*.json and
// dashboards/prometheus/*.yml. Run from the repository root:
//   npx tsc -p tsconfig.json && node dist/dashboards/src/generate.js
// A unit test regenerates them in memory and fails on any difference.

import { resolve } from 'node:path';
import { writeDashboards, writeRules } from './index.js';

const root = resolve(process.argv[2] ?? '.');
const written = [...writeDashboards(resolve(root, 'dashboards')), ...writeRules(resolve(root, 'dashboards', 'prometheus'))];
for (const f of written) process.stdout.write(`wrote ${f}\n`);
