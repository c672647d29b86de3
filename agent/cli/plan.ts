/**
 * `seedwatch plan --detect 5pp [--baseline 2%] [--power 0.8] [--config F] [--json]`: how many
 * probes per provider × path it takes to tell two paths apart by a difference of that size, how
 * many seeds that means at the schedule, and — with a config — how long the current seeds need.
 *
 * The statistics are the domain's (agent/domain/sample-size.ts, detectable-difference.ts); this
 * file parses arguments, reads the schedule and the seeds of the config, and prints.
 */
import { createTask, parse as parseCron } from 'node-cron';
import { formatTable, loadConfigOrReport } from './common.js';
import { EXIT_ERROR, EXIT_OK } from '../exit-codes.js';
import { DEFAULT_ALPHA, DEFAULT_POWER, detectableDifference, sampleSizePerGroup } from '../domain/statistics.js';

export interface PlanOptions {
  detect: string;
  baseline?: string;
  power?: string;
  config?: string;
  json?: boolean;
}

/** The config's default schedule (agent/config/schema.ts): what a plan without --config assumes. */
const DEFAULT_SCHEDULE = '*/5 * * * *';
/**
 * Spam share of the better path when --baseline is not given: a healthy sender's spam share is
 * a few percent. The needed probes grow with the baseline up to 50 %, so say yours.
 */
const DEFAULT_BASELINE = 0.02;

const DAY_SECONDS = 86_400;

class PlanInputError extends Error {
  readonly code = 'PLAN_INPUT_INVALID';
}

const NUMBER = /^(\d+(?:\.\d*)?|\.\d+)\s*(pp|%)?$/i;

/**
 * `--detect`: a difference between two shares, in percentage points (`5pp`) or as a fraction
 * (`0.05`). `5%` is refused: a reader cannot tell 5 points from 5 % of the baseline.
 */
function parseDifference(text: string): number {
  const m = NUMBER.exec(text.trim());
  if (m && m[2] === '%') {
    throw new PlanInputError(`--detect: "${text}" is ambiguous; write the difference in percentage points, e.g. 5pp (or as a fraction, 0.05)`);
  }
  const value = m ? (m[2] ? Number(m[1]) / 100 : Number(m[1])) : NaN;
  if (!(value > 0 && value < 1)) {
    throw new PlanInputError(`--detect: "${text}" is not a difference between 0 and 100 points (e.g. 5pp or 0.05)`);
  }
  return value;
}

/** `--baseline`: a share, `2%` or `0.02`, from 0 up to (not including) 100 %. */
function parseBaseline(text: string): number {
  const m = NUMBER.exec(text.trim());
  const value = m && m[2]?.toLowerCase() !== 'pp' ? (m[2] === '%' ? Number(m[1]) / 100 : Number(m[1])) : NaN;
  if (!(value >= 0 && value < 1)) throw new PlanInputError(`--baseline: "${text}" is not a share from 0 to 100 % (e.g. 2% or 0.02)`);
  return value;
}

/** `--power`: `0.8` or `80%`, from 50 % up to (not including) 100 %. */
function parsePower(text: string): number {
  const m = NUMBER.exec(text.trim());
  const value = m && m[2]?.toLowerCase() !== 'pp' ? (m[2] === '%' ? Number(m[1]) / 100 : Number(m[1])) : NaN;
  if (!(value >= 0.5 && value < 1)) throw new PlanInputError(`--power: "${text}" is not a power from 50 % to below 100 % (e.g. 0.8 or 80%)`);
  return value;
}

export interface ScheduleRate {
  expression: string;
  /** Average cycles a day (a cron limited to some weekdays or dates averages over 52 weeks). */
  cyclesPerDay: number;
  cyclesPerWeek: number;
}

/**
 * How often a node-cron expression fires. The fires of one matching day are the product of its
 * seconds, minutes and hours; which days match (day of month, month, weekday, and node-cron's
 * L / W / # forms) is asked of node-cron itself over the 52 weeks from Monday 2024-01-01.
 */
function scheduleRate(expression: string): ScheduleRate {
  const fields = parseCron(expression);
  const perMatchingDay = fields.second.length * fields.minute.length * fields.hour.length;
  // In UTC, so that a daylight-saving switch of the local zone cannot drop a day from the count.
  const task = createTask(expression, () => undefined, { timezone: 'UTC' });
  const [h, m, s] = [Math.min(...fields.hour), Math.min(...fields.minute), Math.min(...fields.second)];
  let matchingDays = 0;
  for (let d = 0; d < 364; d++) if (task.match(new Date(Date.UTC(2024, 0, 1 + d, h, m, s)))) matchingDays += 1;
  const cyclesPerWeek = (perMatchingDay * matchingDays) / 52;
  return { expression, cyclesPerDay: cyclesPerWeek / 7, cyclesPerWeek };
}

export interface ProviderPlan {
  provider: string;
  /** Seeds of this provider: each cycle sends one probe per seed and path. */
  seeds: number;
  probesPerDayPerPath: number;
  /** Time until each path has collected the needed probes (whole cycles), in seconds. */
  secondsToDetect: number;
  /** Smallest difference (share points) one day / one week of probes resolve at this baseline. */
  detectableInDay: number | null;
  detectableInWeek: number | null;
}

export interface Plan {
  detect: number;
  baseline: number;
  power: number;
  alpha: number;
  method: string;
  /** Probes per provider × path, rounded up. */
  probesPerPath: number;
  probesPerPathExact: number;
  schedule: ScheduleRate & { source: 'config' | 'default' };
  /** Seeds per provider needed to collect probesPerPath within a day, within a week. */
  seedsPerProvider: { day: number; week: number };
  config?: { file: string; paths: string[]; providers: ProviderPlan[] };
}

const METHOD = 'two-sided two-proportion z-test, normal approximation without continuity correction (Fleiss 1981)';

export function buildPlan(
  detect: number,
  baseline: number,
  power: number,
  schedule: ScheduleRate & { source: 'config' | 'default' },
  config?: { file: string; paths: string[]; seeds: Array<{ provider: string }> },
): Plan {
  if (baseline + detect > 1) {
    throw new PlanInputError(`--baseline ${pct(baseline)} plus --detect ${pp(detect)} is more than 100 %`);
  }
  const exact = sampleSizePerGroup(baseline, baseline + detect, { power });
  const probesPerPath = Math.ceil(exact);
  const plan: Plan = {
    detect,
    baseline,
    power,
    alpha: DEFAULT_ALPHA,
    method: METHOD,
    probesPerPath,
    probesPerPathExact: exact,
    schedule,
    seedsPerProvider: {
      day: Math.ceil(probesPerPath / schedule.cyclesPerDay),
      week: Math.ceil(probesPerPath / schedule.cyclesPerWeek),
    },
  };
  if (config) {
    const seedsByProvider = new Map<string, number>();
    for (const s of config.seeds) seedsByProvider.set(s.provider, (seedsByProvider.get(s.provider) ?? 0) + 1);
    plan.config = {
      file: config.file,
      paths: config.paths,
      providers: [...seedsByProvider].map(([provider, seeds]) => {
        const perDay = seeds * schedule.cyclesPerDay;
        const cycles = Math.ceil(probesPerPath / seeds);
        return {
          provider,
          seeds,
          probesPerDayPerPath: perDay,
          secondsToDetect: (cycles * DAY_SECONDS) / schedule.cyclesPerDay,
          detectableInDay: detectableDifference(Math.floor(perDay), baseline, { power }),
          detectableInWeek: detectableDifference(Math.floor(seeds * schedule.cyclesPerWeek), baseline, { power }),
        };
      }),
    };
  }
  return plan;
}

const trim = (x: number, digits: number): string => String(Number(x.toFixed(digits)));
const pct = (share: number): string => `${trim(share * 100, 2)}%`;
const pp = (diff: number): string => `${trim(diff * 100, 1)} pp`;
const count = (x: number): string => trim(x, 1);

/** A span for people: "1d 4h", "11h 15m", "45m" (rounded up, two units at most). */
function formatSpan(seconds: number): string {
  if (seconds >= DAY_SECONDS) {
    const hours = Math.ceil(seconds / 3_600);
    return hours % 24 === 0 ? `${hours / 24}d` : `${Math.floor(hours / 24)}d ${hours % 24}h`;
  }
  const minutes = Math.max(1, Math.ceil(seconds / 60));
  if (minutes < 60) return `${minutes}m`;
  return minutes % 60 === 0 ? `${minutes / 60}h` : `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}

export function renderPlan(plan: Plan): string {
  const out: string[] = [];
  const seed = (n: number): string => `${n} seed${n === 1 ? '' : 's'}`;
  out.push(
    `To tell two paths apart by ${pp(plan.detect)} (${pct(plan.baseline)} on the better path, ${pct(plan.baseline + plan.detect)} on the worse)`,
    `with ${pct(plan.power)} power at a two-sided ${pct(plan.alpha)} level:`,
    '',
    `  ${plan.probesPerPath} probes per provider × path`,
    '',
    `At the schedule "${plan.schedule.expression}"${plan.schedule.source === 'default' ? ' (the default)' : ''}, ` +
      `${count(plan.schedule.cyclesPerDay)} cycles a day`,
    `(each cycle sends one probe per seed and path), a provider needs`,
    `  ${seed(plan.seedsPerProvider.day)} to see it within a day`,
    `  ${seed(plan.seedsPerProvider.week)} to see it within a week`,
  );
  if (plan.config) {
    out.push('', `With ${plan.config.file} (${plan.config.paths.length} path${plan.config.paths.length === 1 ? '' : 's'}: ${plan.config.paths.join(', ')}):`);
    out.push(
      formatTable(
        ['provider', 'seeds', 'probes/day per path', `time to ${plan.probesPerPath} probes`, 'detectable in a day', 'in a week'],
        plan.config.providers.map((p) => [
          p.provider,
          String(p.seeds),
          count(p.probesPerDayPerPath),
          formatSpan(p.secondsToDetect),
          p.detectableInDay === null ? 'nothing' : pp(p.detectableInDay),
          p.detectableInWeek === null ? 'nothing' : pp(p.detectableInWeek),
        ]),
      ).trimEnd(),
    );
    if (plan.config.paths.length < 2) out.push('Only one path is configured: there is nothing to compare it with yet.');
    out.push(`("detectable": the smallest difference from ${pct(plan.baseline)} that a day's or a week's probes detect with that power)`);
  }
  out.push('', `Method: ${plan.method}.`);
  return `${out.join('\n')}\n`;
}

export async function planCommand(opts: PlanOptions): Promise<number> {
  try {
    const detect = parseDifference(opts.detect);
    const baseline = opts.baseline === undefined ? DEFAULT_BASELINE : parseBaseline(opts.baseline);
    const power = opts.power === undefined ? DEFAULT_POWER : parsePower(opts.power);
    let config: { file: string; paths: string[]; seeds: Array<{ provider: string }> } | undefined;
    let expression = DEFAULT_SCHEDULE;
    if (opts.config !== undefined) {
      const cfg = loadConfigOrReport(opts.config);
      if (cfg === null) return EXIT_ERROR;
      expression = cfg.schedule;
      config = { file: opts.config, paths: cfg.paths.map((p) => p.name), seeds: cfg.seeds };
    }
    const schedule = { ...scheduleRate(expression), source: opts.config === undefined ? ('default' as const) : ('config' as const) };
    const plan = buildPlan(detect, baseline, power, schedule, config);
    process.stdout.write(opts.json ? `${JSON.stringify(plan, null, 2)}\n` : renderPlan(plan));
    return EXIT_OK;
  } catch (err) {
    if (err instanceof PlanInputError) {
      process.stderr.write(`seedwatch plan: ${err.message}\n`);
      return EXIT_ERROR;
    }
    throw err;
  }
}
