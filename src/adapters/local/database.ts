import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

export type LocalDatabase = Database.Database;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS cursors (
  account TEXT NOT NULL,
  mailbox TEXT NOT NULL,
  uid_validity TEXT NOT NULL,
  last_uid INTEGER NOT NULL,
  highest_modseq TEXT,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (account, mailbox)
) STRICT;

CREATE TABLE IF NOT EXISTS uid_gaps (
  account TEXT NOT NULL,
  mailbox TEXT NOT NULL,
  uid_validity TEXT NOT NULL,
  gaps TEXT NOT NULL,
  PRIMARY KEY (account, mailbox)
) STRICT;

CREATE TABLE IF NOT EXISTS oauth2_tokens (
  account TEXT PRIMARY KEY,
  configured_token_hash TEXT NOT NULL,
  refresh_token TEXT NOT NULL,
  access_token TEXT NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS folder_trees (
  account TEXT PRIMARY KEY,
  folders TEXT NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS queue_messages (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  queue TEXT NOT NULL,
  deduplication_key TEXT NOT NULL,
  body TEXT NOT NULL,
  receive_count INTEGER NOT NULL DEFAULT 0,
  visible_at INTEGER NOT NULL,
  leased INTEGER NOT NULL DEFAULT 0,
  group_key TEXT,
  UNIQUE (queue, deduplication_key)
) STRICT;
CREATE INDEX IF NOT EXISTS queue_messages_ready ON queue_messages (queue, visible_at, seq);

CREATE TABLE IF NOT EXISTS deliveries (
  event_id TEXT NOT NULL,
  subscription_id TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('delivered', 'failed')),
  event_type TEXT,
  body TEXT,
  reason TEXT,
  attempts INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (event_id, subscription_id)
) STRICT;
CREATE INDEX IF NOT EXISTS deliveries_failed ON deliveries (status, updated_at) WHERE status = 'failed';

CREATE TABLE IF NOT EXISTS blobs (
  key TEXT PRIMARY KEY,
  content BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  note TEXT
) STRICT;

CREATE TABLE IF NOT EXISTS settings (
  name TEXT PRIMARY KEY,
  value BLOB NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS endpoint_health (
  subscription_id TEXT PRIMARY KEY,
  disabled_reason TEXT,
  disabled_at INTEGER,
  failing_since INTEGER
) STRICT;

CREATE TABLE IF NOT EXISTS delivery_attempts (
  subscription_id TEXT NOT NULL,
  attempted_at INTEGER NOT NULL,
  event_id TEXT NOT NULL,
  event_type TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL,
  succeeded INTEGER NOT NULL,
  status INTEGER,
  error TEXT,
  response_excerpt TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS delivery_attempts_by_endpoint ON delivery_attempts (subscription_id, attempted_at);
CREATE INDEX IF NOT EXISTS delivery_attempts_by_age ON delivery_attempts (attempted_at);

CREATE TABLE IF NOT EXISTS message_actions (
  account TEXT NOT NULL,
  id TEXT NOT NULL,
  finished_at INTEGER NOT NULL,
  command TEXT NOT NULL,
  result TEXT NOT NULL,
  PRIMARY KEY (account, id)
) STRICT;
CREATE INDEX IF NOT EXISTS message_actions_by_time ON message_actions (account, finished_at);
CREATE INDEX IF NOT EXISTS message_actions_by_age ON message_actions (finished_at);

CREATE TABLE IF NOT EXISTS api_tokens (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  scope TEXT NOT NULL DEFAULT 'full' CHECK (scope IN ('read', 'full')),
  hash TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  last_used_at INTEGER,
  kind TEXT NOT NULL DEFAULT 'token' CHECK (kind IN ('token', 'login-code')),
  expires_at INTEGER
) STRICT;

CREATE TABLE IF NOT EXISTS managed_documents (
  kind TEXT NOT NULL CHECK (kind IN ('account', 'subscription')),
  id TEXT NOT NULL,
  document TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (kind, id)
) STRICT;
`;

/** Opens (and creates) local mode's single SQLite file: cursors, queues and delivery records in one place. */
export function openLocalDatabase(dataDir: string): LocalDatabase {
  // The database holds raw mail, refresh tokens and the blob-URL key: only its owner may read it, whatever the
  // umask (SQLite gives the -wal and -shm files the database file's mode). A folder idlehook makes is its own
  // (0700); an existing one may be the user's (a project folder, a shared volume) and keeps its mode.
  if (!existsSync(dataDir)) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    chmodSync(dataDir, 0o700);
  }
  const file = join(dataDir, 'idlehook.db');
  closeSync(openSync(file, 'a', 0o600));
  chmodSync(file, 0o600);
  const db = new Database(file);
  // WAL + synchronous=NORMAL: a committed transaction survives a process crash (SIGKILL); only an OS crash
  // can lose the last moments, which is the trade-off local mode makes for throughput.
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  // Checkpoint every ~40 MB of WAL instead of SQLite's 4 MB: each checkpoint syncs the database file on the
  // event loop, and a burst writes several pages per message (bench:throughput: SQLite's share of the main
  // thread 14-17% -> 10-12%). The size limit shrinks the WAL file back after a checkpoint.
  db.pragma('wal_autocheckpoint = 10000');
  db.pragma('journal_size_limit = 67108864');
  // SQLite's own default page cache (2 MB), not better-sqlite3's 16 MB: a burst filled the larger one and the
  // bridge kept it, among C allocations that stay resident after the burst (bench:throughput: RSS 30 s after
  // the catch-up 105-107 MiB against 117-124, peak 208-213 against 223-229; CPU per message unchanged).
  db.pragma('cache_size = -2000');
  addQueueGroupColumn(db);
  addTokenColumns(db);
  addBlobNoteColumn(db);
  db.exec(SCHEMA);
  migrateSubscriptionStatus(db);
  return db;
}

/** Blobs stored before notes existed have none (a raw message's arrival details: it cannot be read again). */
function addBlobNoteColumn(db: LocalDatabase): void {
  const columns = db.prepare("SELECT name FROM pragma_table_info('blobs')").all() as { name: string }[];
  if (columns.length > 0 && !columns.some((c) => c.name === 'note'))
    db.exec('ALTER TABLE blobs ADD COLUMN note TEXT');
}

/** Queues made before per-endpoint limits existed lack the group column (an existing table keeps its shape). */
function addQueueGroupColumn(db: LocalDatabase): void {
  const columns = db.prepare("SELECT name FROM pragma_table_info('queue_messages')").all() as {
    name: string;
  }[];
  if (columns.length > 0 && !columns.some((c) => c.name === 'group_key')) {
    db.exec('ALTER TABLE queue_messages ADD COLUMN group_key TEXT');
  }
}

/**
 * Tokens made before scopes existed could do everything, and still can; those made before login links and expiry
 * are tokens that last until revoked.
 */
function addTokenColumns(db: LocalDatabase): void {
  const columns = db.prepare("SELECT name FROM pragma_table_info('api_tokens')").all() as { name: string }[];
  if (columns.length === 0) return;
  const missing = (name: string) => !columns.some((c) => c.name === name);
  if (missing('scope'))
    db.exec(
      "ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'full' CHECK (scope IN ('read', 'full'))",
    );
  if (missing('kind'))
    db.exec(
      "ALTER TABLE api_tokens ADD COLUMN kind TEXT NOT NULL DEFAULT 'token' CHECK (kind IN ('token', 'login-code'))",
    );
  if (missing('expires_at')) db.exec('ALTER TABLE api_tokens ADD COLUMN expires_at INTEGER');
}

/** Data directories made before endpoint health existed kept disabled subscriptions in subscription_status. */
function migrateSubscriptionStatus(db: LocalDatabase): void {
  const old = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'subscription_status'");
  if (!old.get()) return;
  db.transaction(() => {
    db.exec(`INSERT INTO endpoint_health (subscription_id, disabled_reason, disabled_at)
             SELECT subscription_id, disabled_reason, disabled_at FROM subscription_status WHERE true
             ON CONFLICT (subscription_id) DO NOTHING;
             DROP TABLE subscription_status;`);
  })();
}

/** A random key made once per data directory and kept in it (e.g. to sign local blob URLs). */
export function persistentKey(db: LocalDatabase, name: string): Buffer {
  db.prepare('INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING').run(
    name,
    randomBytes(32),
  );
  return (db.prepare('SELECT value FROM settings WHERE name = ?').get(name) as { value: Buffer }).value;
}
