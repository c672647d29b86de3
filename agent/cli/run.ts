import { EXIT_ERROR } from '../cli.js';

export async function runCommand(_opts: unknown): Promise<number> {
  process.stderr.write('seedwatch run: not available yet (issue 5 (metrics, HTTP API and the daemon) has not landed)\n');
  return EXIT_ERROR;
}
