import { Command, CommanderError, Option } from 'commander';
import { EXIT_ERROR, EXIT_OK } from './exit-codes.js';
import { VERSION } from './version.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('seedwatch')
    .description(
      'Inbox-placement observability: sends probes over every egress path to seed mailboxes,\n' +
        'watches them over IMAP, exports Prometheus metrics, alert rules, dashboards and reports.',
    )
    .version(VERSION, '-V, --version')
    .showHelpAfterError()
    // Usage errors must exit 2 (error), not commander's default 1 (which means "thresholds
    // failed" here); inherited by every subcommand defined below.
    .exitOverride()
    // Global: accepted before or after the command name. The lists are agent/log.ts's
    // LOG_LEVELS and LOG_FORMATS (not imported: --help must not load the logger).
    .addOption(
      new Option('--log-level <level>', 'log level (default: $SEEDWATCH_LOG_LEVEL, else info)').choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']),
    )
    .addOption(new Option('--log-format <format>', 'log format (default: pretty on a terminal, else json)').choices(['json', 'pretty']))
    .hook('preAction', async (cmd) => {
      const { applyLogFlags } = await import('./log.js');
      applyLogFlags(cmd.opts());
    });

  program
    .command('start')
    .description('what `npm start` runs: `run` with --config (or ./seedwatch.yaml when present), else `demo`')
    .option('-c, --config <file>', 'configuration file (YAML)')
    .option('--listen <host:port>', 'demo only: HTTP listen address', '127.0.0.1:9464')
    .action(async (opts: { config?: string; listen: string }) => {
      const { startCommand } = await import('./cli/start.js');
      process.exitCode = await startCommand(opts);
    });

  program
    .command('run')
    .description('the daemon: schedule, send, watch, reconcile, serve HTTP (/metrics, /api, status page)')
    .requiredOption('-c, --config <file>', 'configuration file (YAML)')
    .action(async (opts: { config: string }) => {
      const { runCommand } = await import('./cli/run.js');
      process.exitCode = await runCommand(opts);
    });

  program
    .command('probe')
    .description('one cycle now; prints the placement table; exit code says whether thresholds held')
    .requiredOption('-c, --config <file>', 'configuration file (YAML)')
    .option('--json', 'print one JSON document instead of a table')
    .option('--wait <duration>', 'how long to wait for probes to arrive (default: the config deadline)')
    .option('--fail-on <thresholds>', 'e.g. "spam>0.2,missing>0": exit 1 when a share per provider x path exceeds it')
    .option('--send-only', 'send one cycle and print what each path got back; do not watch')
    .action(async (opts: { config: string; json?: boolean; wait?: string; failOn?: string; sendOnly?: boolean }) => {
      const { probeCommand } = await import('./cli/probe.js');
      process.exitCode = await probeCommand(opts);
    });

  program
    .command('check')
    .description('validate the config, show the plan (paths, seeds, presets, secrets); --connect logs into seeds and tests paths')
    .requiredOption('-c, --config <file>', 'configuration file (YAML)')
    .option('--no-connect', 'only validate and print the plan; no network')
    .option('--json', 'print the plan as JSON')
    .action(async (opts: { config: string; connect: boolean; json?: boolean }) => {
      const { checkCommand } = await import('./cli/check.js');
      process.exitCode = await checkCommand(opts);
    });

  const collect = (value: string, previous: string[]) => [...previous, value];
  program
    .command('init')
    .description('first configuration: asks for the sender, paths and seeds (or takes flags), logs in, writes a commented seedwatch.yaml, runs check')
    .option('-o, --out <file>', 'the config file to write', 'seedwatch.yaml')
    .option('--force', 'overwrite --out')
    .option('--no-check', 'do not log in, test paths or run `seedwatch check` (offline)')
    .option('--non-interactive', 'take everything from the flags below (automation)')
    .option('--from <sender>', 'the probes\' sender, "Name <address@domain>"')
    .option('--listen <host:port>', 'HTTP listen address (default 127.0.0.1:9464)')
    .option('--data-dir <dir>', 'ledger directory, relative to the config (default ./data)')
    .option('--relay <name=host:port>', 'a relay path (repeatable; port 587 by default, 465 = implicit TLS)', collect, [])
    .option('--relay-auth <name=user:ENV>', "a relay path's login; the password is read from the environment variable ENV", collect, [])
    .option('--mx <name[=helo]>', 'a direct-to-MX path (repeatable)', collect, [])
    .option('--source <name=ip>', 'source IP of a path (repeatable)', collect, [])
    .option('--seed <name=provider:address[:user]>', 'a seed mailbox; provider = a preset (repeatable)', collect, [])
    .option('--imap <name=host:port[:tls|plain]>', "a seed's IMAP server when not the preset's", collect, [])
    .option('--password-env <name=ENV>', "a seed's IMAP password, read from the environment variable ENV", collect, [])
    .option('--oauth2-client <name=client-id[:tenant]>', 'an OAuth2 seed (then `seedwatch auth` for its refresh token)', collect, [])
    .action(async (opts) => {
      const { initCommand } = await import('./cli/init.js');
      process.exitCode = await initCommand(opts);
    });

  program
    .command('report')
    .description('weekly trend report from the ledger')
    .requiredOption('-c, --config <file>', 'configuration file (YAML)')
    .option('--week', 'the last 7 days (default)')
    .addOption(new Option('--format <format>', 'output format').choices(['html', 'md', 'csv', 'json']).default('md'))
    .option('--out <file>', 'write to a file instead of stdout')
    .action(async (opts: { config: string; week?: boolean; format: 'html' | 'md' | 'csv' | 'json'; out?: string }) => {
      const { reportCommand } = await import('./cli/report.js');
      process.exitCode = await reportCommand(opts);
    });

  program
    .command('auth')
    .description("obtain the first OAuth2 refresh token of a seed mailbox, with the flow its provider preset declares (device code, or a browser on this machine)")
    .requiredOption('--provider <provider>', 'a provider preset with an oauth2 flow (seed-accounts/providers)')
    .requiredOption('--client-id <id>', 'OAuth client registered for seedwatch')
    .option('--client-secret-env <name>', 'read the client secret from this environment variable')
    .option('--client-secret-file <file>', 'read the client secret from this file')
    .option('--tenant <tenant>', "fills {tenant} in the preset's URLs (Microsoft: consumers, organizations, or a tenant id)")
    .option('--scope <scope>', "override the preset's scope")
    .option('--login-hint <address>', 'the seed address (pre-selects the account)')
    .option('--out <file>', 'refresh token file, mode 0600 (default ./<provider>-refresh-token)')
    .option('--force', 'overwrite --out')
    .option('--port <n>', 'loopback flow: port for the redirect', (v) => Number(v))
    .option('--authorize-url <url>', 'override the authorization endpoint')
    .option('--device-code-url <url>', 'override the device-code endpoint')
    .option('--token-url <url>', 'override the token endpoint')
    .action(async (opts) => {
      const { authCommand } = await import('./cli/auth.js');
      process.exitCode = await authCommand(opts);
    });

  program
    .command('plan')
    .description('how many probes (and seeds, and how long) it takes to tell two paths apart by a given difference')
    .requiredOption('--detect <difference>', 'the difference to detect, in percentage points: 5pp (or a fraction: 0.05)')
    .option('--baseline <share>', "the better path's share, e.g. 2% (default 2%)")
    .option('--power <power>', 'probability of detecting it, e.g. 0.8 or 80% (default 0.8)')
    .option('-c, --config <file>', "use this config's schedule and seeds")
    .option('--json', 'print one JSON document')
    .action(async (opts: { detect: string; baseline?: string; power?: string; config?: string; json?: boolean }) => {
      const { planCommand } = await import('./cli/plan.js');
      process.exitCode = await planCommand(opts);
    });

  program
    .command('ledger')
    .description('the ledger itself')
    .command('migrate')
    .description('copy the SQLite ledger\'s whole history into the empty Postgres ledger of the config (verified; running it again is a no-op)')
    .addOption(new Option('--to <kind>', 'the ledger to copy into').choices(['postgres']).makeOptionMandatory())
    .requiredOption('-c, --config <file>', 'configuration file (YAML) with ledger.postgres (the target) and dataDir (the source)')
    .option('--from <file>', 'the SQLite ledger (default: <dataDir>/ledger.sqlite)')
    .action(async (opts: { to: string; config: string; from?: string }) => {
      const { ledgerMigrateCommand } = await import('./cli/ledger.js');
      process.exitCode = await ledgerMigrateCommand(opts);
    });

  program
    .command('dashboards')
    .description('write the Grafana dashboard JSON to a directory')
    .option('--out <dir>', 'output directory', 'dashboards')
    .action(async (opts: { out: string }) => {
      const { dashboardsCommand } = await import('./cli/dashboards.js');
      process.exitCode = await dashboardsCommand(opts);
    });

  program
    .command('demo')
    .description('the whole pipeline against embedded sandbox providers; no credentials needed')
    .option('--data-dir <dir>', 'keep the ledger here (default: a temp dir)')
    .option('--listen <host:port>', 'HTTP listen address', '127.0.0.1:9464')
    .action(async (opts: { dataDir?: string; listen: string }) => {
      const { demoCommand } = await import('./cli/demo.js');
      process.exitCode = await demoCommand(opts);
    });

  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander has already printed the message (and the help where useful).
      const ok = ['commander.helpDisplayed', 'commander.help', 'commander.version'].includes(err.code);
      process.exitCode = ok ? EXIT_OK : EXIT_ERROR;
      return;
    }
    process.stderr.write(`seedwatch: ${(err as Error).message}\n`);
    process.exitCode = EXIT_ERROR;
  }
}
