import { describe, expect, it } from 'vitest';
import { resolveFolderRoles, type MailboxListEntry } from '../../../agent/analyze/folder-roles.js';

const PRESET = {
  spam: ['Spam', 'Junk', 'Junk Email', 'Bulk', 'Courrier indésirable', 'Pourriel'],
  trash: ['Trash', 'Deleted Items', 'Corbeille'],
  all: ['All Mail'],
};

const gmail: MailboxListEntry[] = [
  { path: 'INBOX', specialUse: '\\Inbox', delimiter: '/' },
  { path: '[Gmail]', flags: ['\\HasChildren', '\\Noselect'], delimiter: '/' },
  { path: '[Gmail]/All Mail', specialUse: '\\All', delimiter: '/' },
  { path: '[Gmail]/Spam', specialUse: '\\Junk', delimiter: '/' },
  { path: '[Gmail]/Trash', specialUse: '\\Trash', delimiter: '/' },
];

describe('resolveFolderRoles', () => {
  it('Gmail: SPECIAL-USE', () => {
    expect(resolveFolderRoles(gmail, PRESET)).toEqual({
      inbox: { path: 'INBOX', rule: 'default' },
      spam: { path: '[Gmail]/Spam', rule: 'special-use' },
      trash: { path: '[Gmail]/Trash', rule: 'special-use' },
      all: { path: '[Gmail]/All Mail', rule: 'special-use' },
    });
  });

  it('config override beats SPECIAL-USE and keeps the server spelling', () => {
    const r = resolveFolderRoles(gmail, PRESET, { spam: '[gmail]/spam', trash: 'Custom/Bin' });
    expect(r.spam).toEqual({ path: '[Gmail]/Spam', rule: 'config' });
    expect(r.trash).toEqual({ path: 'Custom/Bin', rule: 'config' });
    expect(r.all?.rule).toBe('special-use');
  });

  it('special-use found in flags (not specialUse), case-insensitively', () => {
    const r = resolveFolderRoles([{ path: 'Pourriel', flags: ['\\JUNK'] }, { path: 'Spam' }], PRESET);
    expect(r.spam).toEqual({ path: 'Pourriel', rule: 'special-use' });
  });

  it.each([
    ['Outlook.com', [{ path: 'Inbox' }, { path: 'Junk Email' }, { path: 'Deleted Items' }], 'Junk Email', 'Deleted Items', 'Inbox'],
    ['Dovecot INBOX. namespace', [{ path: 'INBOX', delimiter: '.' }, { path: 'INBOX.Junk', delimiter: '.' }, { path: 'INBOX.Trash', delimiter: '.' }], 'INBOX.Junk', 'INBOX.Trash', 'INBOX'],
    ['Yahoo Bulk', [{ path: 'Inbox' }, { path: 'Bulk' }, { path: 'Trash' }], 'Bulk', 'Trash', 'Inbox'],
    ['Orange (French, accented)', [{ path: 'INBOX' }, { path: 'COURRIER INDÉSIRABLE' }, { path: 'Corbeille' }], 'COURRIER INDÉSIRABLE', 'Corbeille', 'INBOX'],
    ['Free (decomposed accent, NFD)', [{ path: 'INBOX' }, { path: 'Courrier inde\u0301sirable' }], 'Courrier inde\u0301sirable', null, 'INBOX'],
    ['Videotron Pourriel under a prefix', [{ path: 'INBOX' }, { path: 'Dossiers/Pourriel', delimiter: '/' }], 'Dossiers/Pourriel', null, 'INBOX'],
    ['no delimiter given: / and . split', [{ path: 'INBOX' }, { path: 'Mail/Junk' }], 'Mail/Junk', null, 'INBOX'],
    ['nothing matches', [{ path: 'INBOX' }, { path: 'Archive' }], null, null, 'INBOX'],
    ['INBOX absent from the list', [{ path: 'Junk' }], 'Junk', null, 'INBOX'],
  ])('%s', (_label, list, spam, trash, inbox) => {
    const r = resolveFolderRoles(list as MailboxListEntry[], PRESET);
    expect(r.spam?.path ?? null).toBe(spam);
    expect(r.trash?.path ?? null).toBe(trash);
    expect(r.inbox).toEqual({ path: inbox, rule: 'default' });
    if (spam) expect(r.spam?.rule).toBe('name');
  });

  it('prefers an exact path over a leaf match, then the shallowest leaf', () => {
    const list = [{ path: 'Archive/2019/Junk', delimiter: '/' }, { path: 'INBOX/Junk', delimiter: '/' }, { path: 'Spam', delimiter: '/' }];
    expect(resolveFolderRoles(list, { spam: ['Junk'], trash: [] }).spam?.path).toBe('INBOX/Junk');
    expect(resolveFolderRoles(list, { spam: ['Junk', 'Spam'], trash: [] }).spam?.path).toBe('Spam');
  });

  it('never picks a \\Noselect folder', () => {
    const r = resolveFolderRoles([{ path: 'Junk', flags: ['\\Noselect'] }, { path: 'Other/Junk', delimiter: '/' }], PRESET);
    expect(r.spam?.path).toBe('Other/Junk');
  });

  it('tolerates junk input', () => {
    const r = resolveFolderRoles([null, { path: 3 }, { path: '' }] as never, undefined as never, null as never);
    expect(r).toEqual({ inbox: { path: 'INBOX', rule: 'default' }, spam: null, trash: null, all: null });
  });
});
