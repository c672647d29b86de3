import { readFileSync } from 'node:fs';
import { loadPresets } from '../../../agent/config/preset.js';

const dir = new URL('../../fixtures/eml/', import.meta.url);

export function fixture(name: string): Buffer {
  return readFileSync(new URL(name, dir));
}

/** Body text of a fixture (everything after the first blank line), as the watcher would pass it. */
export function fixtureBody(name: string): string {
  const text = fixture(name).toString('latin1');
  const m = /\r?\n\r?\n/.exec(text);
  return m ? text.slice(m.index + m[0].length) : '';
}

/**
 * Microsoft's own Received `by` hosts, from the outlook preset (seed-accounts/providers/outlook.yaml):
 * the one list the agent uses, so the tests exercise what ships.
 */
export const OUTLOOK_RECEIVED_HOSTS: readonly string[] = loadPresets().get('outlook')!.receivedHosts;
