import { existsSync } from 'node:fs';

/** `npm start`: the daemon when a config is given (or ./seedwatch.yaml exists), else the demo. */
export async function startCommand(opts: { config?: string; listen?: string }): Promise<number> {
  const config = opts.config ?? (existsSync('seedwatch.yaml') ? 'seedwatch.yaml' : undefined);
  if (config) {
    const { runCommand } = await import('./run.js');
    return runCommand({ config });
  }
  const { demoCommand } = await import('./demo.js');
  return demoCommand({ listen: opts.listen ?? '127.0.0.1:9464' });
}
