/**
 * Persists rotated OAuth2 refresh tokens in the ledger's key/value store, so a restart does not
 * fall back to the refresh token of the config (which the provider may have revoked when it
 * rotated it).
 *
 * At rest: AES-256-GCM with a 256-bit key kept in a file of its own (mode 0600) next to the
 * ledger, not in it. The ledger is meant to be copied around (read-only report runs, backups,
 * later a shared Postgres that several agents and their admins can read); a copy of it alone
 * must not hand out mailbox access. The kv key is bound as associated data, so a blob copied
 * under another key does not decrypt.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, openSync, readFileSync, statSync, writeSync, closeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Ledger } from '../ledger/ledger.js';
import { silentLogger, type Logger } from '../log.js';
import { SecretValue } from '../config/secret.js';

/** File name of the store key inside dataDir. */
export const STORE_KEY_FILE = 'oauth2-store.key';
const KV_PREFIX = 'oauth2.refresh-token.';
const FORMAT = 'v1';

export interface StoredRefreshToken {
  refreshToken: SecretValue;
  /** sha256 (hex) of the config's refresh token this one descends from. */
  basedOn: string;
  rotatedAtMs: number;
}

export interface RefreshTokenStore {
  load(lineage: string): Promise<StoredRefreshToken | null>;
  save(lineage: string, rec: { refreshToken: SecretValue; basedOn: string; rotatedAtMs: number }): Promise<void>;
}

/** sha256 hex of a secret's value, for "did the config's refresh token change" comparisons. */
export function fingerprint(secret: SecretValue): string {
  return createHash('sha256').update(secret.reveal(), 'utf8').digest('hex');
}

/**
 * Read the key file, creating it (0600, exclusive) when absent. A key file others can read is
 * tightened to 0600 with a warning.
 */
export function loadOrCreateStoreKey(file: string, log: Logger = silentLogger()): Buffer {
  mkdirSync(dirname(file), { recursive: true });
  try {
    const fd = openSync(file, 'wx', 0o600);
    try {
      writeSync(fd, randomBytes(32).toString('base64') + '\n');
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const mode = statSync(file).mode & 0o777;
  if (mode & 0o077) {
    chmodSync(file, 0o600);
    log.warn({ file, mode: mode.toString(8) }, 'OAuth2 store key file was readable by others; set to mode 0600');
  }
  const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  if (key.length !== 32) throw new Error(`${file}: not an OAuth2 store key (expected 32 bytes, base64)`);
  return key;
}

export class LedgerRefreshTokenStore implements RefreshTokenStore {
  private keyBuf: Buffer | null;

  /** `key`: 32 bytes, or the path of a key file read (created) at first use. */
  constructor(
    private readonly kv: Pick<Ledger, 'getState' | 'setState'>,
    private readonly keySource: Buffer | string,
    private readonly log: Logger = silentLogger(),
  ) {
    this.keyBuf = typeof keySource === 'string' ? null : keySource;
    if (this.keyBuf && this.keyBuf.length !== 32) throw new Error('LedgerRefreshTokenStore: key must be 32 bytes');
  }

  /** A store whose key lives in `keyFile` (e.g. <dataDir>/oauth2-store.key), created only once a token is stored or read. */
  static open(kv: Pick<Ledger, 'getState' | 'setState'>, keyFile: string, log?: Logger): LedgerRefreshTokenStore {
    return new LedgerRefreshTokenStore(kv, keyFile, log);
  }

  private get key(): Buffer {
    this.keyBuf ??= loadOrCreateStoreKey(this.keySource as string, this.log);
    return this.keyBuf;
  }

  async load(lineage: string): Promise<StoredRefreshToken | null> {
    const kvKey = KV_PREFIX + lineage;
    const raw = await this.kv.getState(kvKey);
    if (raw === null) return null;
    const key = this.key; // a key file that cannot be read or created is an error of its own
    try {
      const [format, blob] = raw.split(':', 2);
      if (format !== FORMAT || !blob) throw new Error('unknown format');
      const buf = Buffer.from(blob, 'base64');
      const iv = buf.subarray(0, 12);
      const tag = buf.subarray(12, 28);
      const decipher = createDecipheriv('aes-256-gcm', key, iv);
      decipher.setAAD(Buffer.from(kvKey, 'utf8'));
      decipher.setAuthTag(tag);
      const plain = Buffer.concat([decipher.update(buf.subarray(28)), decipher.final()]).toString('utf8');
      const rec = JSON.parse(plain) as { rt?: unknown; basedOn?: unknown; at?: unknown };
      if (typeof rec.rt !== 'string' || typeof rec.basedOn !== 'string' || typeof rec.at !== 'number') throw new Error('bad record');
      return { refreshToken: new SecretValue(rec.rt, 'ledger (rotated)'), basedOn: rec.basedOn, rotatedAtMs: rec.at };
    } catch {
      // A different key file (restored from elsewhere, regenerated) or a damaged row: the
      // config's refresh token is the only one left to try.
      this.log.warn({ lineage }, 'stored OAuth2 refresh token cannot be decrypted (was the store key file replaced?); ignoring it');
      return null;
    }
  }

  async save(lineage: string, rec: { refreshToken: SecretValue; basedOn: string; rotatedAtMs: number }): Promise<void> {
    const kvKey = KV_PREFIX + lineage;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(kvKey, 'utf8'));
    const plain = JSON.stringify({ rt: rec.refreshToken.reveal(), basedOn: rec.basedOn, at: rec.rotatedAtMs });
    const enc = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    await this.kv.setState(kvKey, `${FORMAT}:${Buffer.concat([iv, cipher.getAuthTag(), enc]).toString('base64')}`);
  }
}

/** Keeps rotated refresh tokens in memory only (tests; `check` without a ledger). */
export class MemoryRefreshTokenStore implements RefreshTokenStore {
  private readonly map = new Map<string, StoredRefreshToken>();
  async load(lineage: string): Promise<StoredRefreshToken | null> {
    return this.map.get(lineage) ?? null;
  }
  async save(lineage: string, rec: StoredRefreshToken): Promise<void> {
    this.map.set(lineage, { ...rec });
  }
}
