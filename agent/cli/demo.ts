import { EXIT_ERROR } from '../cli.js';

export async function demoCommand(_opts: unknown): Promise<number> {
  process.stderr.write('seedwatch demo: not available yet (issue 7 (demo, status page and weekly report) has not landed)\n');
  return EXIT_ERROR;
}
