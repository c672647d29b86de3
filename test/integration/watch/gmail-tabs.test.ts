/**
 * Gmail category tabs against a scripted IMAP server (hoodiecrow-imap) that advertises
 * X-GM-EXT-1 and answers `X-GM-RAW "category:…"` through a test plugin; and the same mailbox
 * without the capability, where no X-GM command may be sent at all.
 */
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteLedger } from '../../../agent/ledger/sqlite-ledger.js';
import { MailboxWatcher } from '../../../agent/watch/mailbox-watcher.js';
import { freePort } from '../../helpers/ports.js';
import { acceptedProbe, literalSecrets, probeMessage, recordingEvents, seedFor, waitUntil } from './watch-harness.js';

const require = createRequire(import.meta.url);
const hoodiecrow = require('hoodiecrow-imap') as (opts: Record<string, unknown>) => {
  listen(port: number, host: string, cb?: () => void): void;
  close(cb?: () => void): void;
  searchHandlers: Record<string, (...a: unknown[]) => boolean>;
  registerCapability(name: string): void;
  connectionHandlers: ((conn: { scheduleCommand: (data: string) => void }) => void)[];
};

/** Test plugin: advertises X-GM-EXT-1; X-GM-RAW "category:<tab>" matches messages whose X-Test-Category header says so. */
function xGmRawPlugin(server: ReturnType<typeof hoodiecrow>) {
  // hoodiecrow's X-GM-EXT-1 plugin adds X-GM-MSGID/X-GM-LABELS but does not advertise it
  server.registerCapability('X-GM-EXT-1');
  server.searchHandlers['X-GM-RAW'] = (_conn: unknown, message: unknown, _index: unknown, query: unknown) => {
    const m = /^category:(\w+)$/i.exec(String(query));
    const raw = String((message as { raw?: string }).raw ?? '');
    const cat = /^X-Test-Category:\s*(\w+)/im.exec(raw)?.[1] ?? 'primary';
    return !!m && m[1].toLowerCase() === cat.toLowerCase();
  };
}

function commandLog(into: string[]) {
  return (server: ReturnType<typeof hoodiecrow>) => {
    server.connectionHandlers.push((conn) => {
      const orig = conn.scheduleCommand.bind(conn);
      conn.scheduleCommand = (data: string) => {
        into.push(data);
        orig(data);
      };
    });
  };
}

const TABS = ['primary', 'promotions', 'social', 'updates', 'forums'] as const;

describe('Gmail tabs through X-GM-EXT-1', () => {
  let stop: (() => Promise<void>) | null = null;
  afterEach(async () => {
    await stop?.();
    stop = null;
  });

  async function run(withGmailExtension: boolean) {
    const ledger = SqliteLedger.open(':memory:');
    const port = await freePort();
    const seed = seedFor({ host: '127.0.0.1', imapPort: port }, { user: 'testuser', password: 'testpass', kind: 'gmail' }, 'gmail-tabs', { cleanup: 'keep' });
    const ids: string[] = [];
    const messages = [];
    for (const tab of TABS) {
      const id = await acceptedProbe(ledger, seed);
      ids.push(id);
      const raw = probeMessage(id, { to: 'testuser@gmail.test', extraHeaders: tab === 'primary' ? [] : [`X-Test-Category: ${tab}`] })
        // hoodiecrow has no delivery: give the copy the provider's Received line itself
        .replace(/^/, `Received: by mx.google.test with SMTP id ${id}; ${new Date().toUTCString()}\r\n`);
      messages.push({ raw, internaldate: new Date(), flags: [] });
    }
    const commands: string[] = [];
    const server = hoodiecrow({
      plugins: ['IDLE', 'SPECIAL-USE', 'ENABLE', 'UIDPLUS', 'MOVE', ...(withGmailExtension ? ['X-GM-EXT-1', xGmRawPlugin] : []), commandLog(commands)],
      storage: {
        INBOX: { messages },
        '': {
          separator: '/',
          folders: {
            '[Gmail]': {
              flags: ['\\Noselect'],
              folders: {
                'All Mail': { 'special-use': '\\All' },
                Spam: { 'special-use': '\\Junk' },
                Trash: { 'special-use': '\\Trash' },
              },
            },
          },
        },
      },
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    const w = new MailboxWatcher({ seed, ledger, events: recordingEvents(), resolveSecret: literalSecrets, pollIntervalMs: 60_000, deadlineMs: 30 * 60_000 });
    stop = async () => {
      await w.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await ledger.close();
    };
    w.start();
    await waitUntil(() => w.health().up, 'watcher up');
    const outcomes = [];
    for (const id of ids) outcomes.push((await ledger.getProbe(id))?.outcome);
    const evidence = await Promise.all(ids.map(async (id) => (await ledger.observations(id))[0]?.evidence.gmailCategory));
    return { outcomes, evidence, commands, health: w.health() };
  }

  it('classifies inbox probes into primary / promotions / social / updates / forums', async () => {
    const r = await run(true);
    expect(r.health.capabilities).toContain('X-GM-EXT-1');
    expect(r.outcomes).toEqual(['inbox', 'promotions', 'social', 'updates', 'forums']);
    expect(r.evidence).toEqual([...TABS]);
    expect(r.commands.filter((c) => /X-GM-RAW "?category:/i.test(c)).length).toBe(4);
  });

  it('without X-GM-EXT-1, inbox is inbox and no X-GM command is sent', async () => {
    const r = await run(false);
    expect(r.health.capabilities).not.toContain('X-GM-EXT-1');
    expect(r.outcomes).toEqual(['inbox', 'inbox', 'inbox', 'inbox', 'inbox']);
    expect(r.commands.length).toBeGreaterThan(5); // the log works: LOGIN, LIST, SELECT, SEARCH, FETCH...
    expect(r.commands.filter((c) => /X-GM/i.test(c))).toEqual([]);
  });
});
