import { ConfigError, loadConfig, type Config } from '../config/load-config.js';
import { PresetError } from '../config/preset.js';

/** Load the config or print every problem (one per line, naming file and field) and return null. */
export function loadConfigOrReport(file: string): Config | null {
  try {
    const cfg = loadConfig(file);
    for (const w of cfg.warnings) process.stderr.write(`warning: ${w}\n`);
    return cfg;
  } catch (err) {
    if (err instanceof ConfigError || err instanceof PresetError) {
      process.stderr.write(`${err.message}\n`);
      return null;
    }
    throw err;
  }
}

/** A small fixed-width table for terminals (no dependency needed for this). */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (c ?? '').padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n';
}
