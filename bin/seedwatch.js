#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm install` (the `prepare` script).
import('../dist/agent/cli.js').then((m) => m.main(process.argv)).catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/agent/cli.js')) {
    console.error('seedwatch: dist/ is missing; run `npm install` (or `npm run build`) first');
  } else {
    console.error(err);
  }
  process.exit(2);
});
