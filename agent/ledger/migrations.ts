/**
 * Versioned schema migrations. Each runs once, in a transaction, and bumps PRAGMA user_version;
 * running them again is a no-op. Never edit a shipped migration: append a new one.
 */
export const MIGRATIONS: { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: 'probes, observations, folder state, mailbox events, kv',
    sql: `
CREATE TABLE probes (
  id              TEXT PRIMARY KEY,
  path            TEXT NOT NULL,
  seed            TEXT NOT NULL,
  provider        TEXT NOT NULL,
  message_id      TEXT NOT NULL,
  cycle_id        TEXT,
  status          TEXT NOT NULL CHECK (status IN ('sending','accepted','failed','ambiguous')),
  created_at      INTEGER NOT NULL,
  send_started_at INTEGER,
  accepted_at     INTEGER,
  deadline_ms     INTEGER NOT NULL,
  deadline_at     INTEGER,
  smtp_code       INTEGER,
  smtp_enhanced   TEXT,
  smtp_text       TEXT,
  queue_id        TEXT,
  error_reason    TEXT,
  error_message   TEXT,
  outcome         TEXT,
  resolved_at     INTEGER,
  copies          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX probes_created ON probes(created_at);
CREATE INDEX probes_open ON probes(status, outcome, deadline_at);
CREATE INDEX probes_seed ON probes(seed, created_at);

CREATE TABLE observations (
  id                 INTEGER PRIMARY KEY AUTOINCREMENT,
  probe_id           TEXT NOT NULL REFERENCES probes(id),
  seed               TEXT NOT NULL,
  folder             TEXT NOT NULL,
  folder_role        TEXT NOT NULL,
  placement          TEXT NOT NULL,
  uid_validity       INTEGER NOT NULL,
  uid                INTEGER NOT NULL,
  fingerprint        TEXT,
  arrived_at         INTEGER,
  internal_date      INTEGER,
  observed_at        INTEGER NOT NULL,
  copy_number        INTEGER NOT NULL,
  kind               TEXT NOT NULL CHECK (kind IN ('first','duplicate','late')),
  spf                TEXT,
  dkim               TEXT,
  dmarc              TEXT,
  arc                TEXT,
  delivery_latency_s REAL,
  detection_delay_s  REAL,
  evidence           TEXT NOT NULL,
  UNIQUE (seed, folder, uid_validity, uid)
);
CREATE INDEX observations_probe ON observations(probe_id);
-- The same copy seen again after a UIDVALIDITY change or a move between folders.
CREATE UNIQUE INDEX observations_fingerprint ON observations(seed, fingerprint) WHERE fingerprint IS NOT NULL;

CREATE TABLE folder_state (
  seed         TEXT NOT NULL,
  folder       TEXT NOT NULL,
  uid_validity INTEGER NOT NULL,
  last_uid     INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  PRIMARY KEY (seed, folder)
);

CREATE TABLE mailbox_events (
  id      INTEGER PRIMARY KEY AUTOINCREMENT,
  seed    TEXT NOT NULL,
  kind    TEXT NOT NULL,
  at      INTEGER NOT NULL,
  message TEXT NOT NULL
);

CREATE TABLE kv (
  key        TEXT PRIMARY KEY,
  value      TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
`,
  },
  {
    version: 2,
    name: 'cycles (scheduler ticks, including skipped overlapping ones)',
    sql: `
CREATE TABLE cycles (
  id          TEXT PRIMARY KEY,
  started_at  INTEGER NOT NULL,
  finished_at INTEGER,
  probes      INTEGER NOT NULL DEFAULT 0,
  -- 1: the tick came while the previous cycle was still running, and was skipped.
  overlapped  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX cycles_started ON cycles(started_at);
`,
  },
  {
    version: 3,
    name: 'latencies in integer milliseconds (exact sums across restarts)',
    sql: `
ALTER TABLE observations ADD COLUMN delivery_latency_ms INTEGER;
ALTER TABLE observations ADD COLUMN detection_delay_ms INTEGER;
UPDATE observations SET delivery_latency_ms = CAST(ROUND(delivery_latency_s * 1000) AS INTEGER),
                        detection_delay_ms = CAST(ROUND(detection_delay_s * 1000) AS INTEGER);
ALTER TABLE observations DROP COLUMN delivery_latency_s;
ALTER TABLE observations DROP COLUMN detection_delay_s;
-- The reconciler asks per seed for accepted probes past a deadline, unresolved.
CREATE INDEX probes_seed_open ON probes(seed, status, outcome, deadline_at);
`,
  },
  {
    version: 4,
    name: 'agent identity: which agent sent each probe and saw each copy',
    sql: `
-- NULL for rows written before agents had names (config agent.name, default the hostname).
ALTER TABLE probes ADD COLUMN agent TEXT;
ALTER TABLE observations ADD COLUMN agent TEXT;
`,
  },
  {
    version: 5,
    name: 'which agent counted each fact (fleet metrics: each agent exports what it recorded)',
    sql: `
-- The agent whose counters hold the probe's missing (it concluded it); and per copy the agent
-- that counted it (the watcher that recorded it, or for a copy recorded while the probe was still
-- being sent, the sender, which counts it when the accept is recorded).
ALTER TABLE probes ADD COLUMN resolved_by TEXT;
ALTER TABLE observations ADD COLUMN counted_by TEXT;
UPDATE probes SET resolved_by = agent WHERE outcome = 'missing';
UPDATE observations SET counted_by = agent;
`,
  },
];
