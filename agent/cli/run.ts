import { ConfigError, loadConfig } from '../config/load-config.js';
import { EXIT_ERROR, EXIT_OK } from '../exit-codes.js';
import { createLogger } from '../log.js';
import { loadConfigOrReport } from './common.js';

/** `seedwatch run`: the daemon, until SIGTERM/SIGINT; SIGHUP reloads the config. */
export async function runCommand(opts: { config: string }): Promise<number> {
  const config = loadConfigOrReport(opts.config);
  if (!config) return EXIT_ERROR;
  const logger = createLogger();
  const { startDaemon } = await import('../agent.js');
  let daemon;
  try {
    daemon = await startDaemon({ config, loadConfig: () => loadConfig(opts.config), logger, pages: true });
  } catch (err) {
    if (err instanceof ConfigError) process.stderr.write(`${err.message}\n`);
    else logger.error({ err: (err as Error).message }, 'cannot start');
    return EXIT_ERROR;
  }
  process.stderr.write(`seedwatch: serving ${daemon.current().url}/metrics\n`);
  const onHup = () => void daemon.reload();
  process.on('SIGHUP', onHup);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'stopping');
      process.off('SIGHUP', onHup);
      daemon.stop().then(
        () => resolve(EXIT_OK),
        (err) => {
          logger.error({ err: (err as Error).message }, 'unclean stop');
          resolve(EXIT_ERROR);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
