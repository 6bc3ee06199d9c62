import type { DeliveryRecord, IngestRecord } from '../../pipeline/records.js';
import type { Clock } from '../../ports/services.js';
import { openLocalDatabase, persistentKey } from './database.js';
import { MemoryEndpointThrottle } from './memory-endpoint-throttle.js';
import { SqliteActionLog } from './sqlite-action-log.js';
import { SqliteAttemptLog } from './sqlite-attempt-log.js';
import { SqliteBlobStore } from './sqlite-blob-store.js';
import { SqliteApiTokens, SqliteManagedDocuments } from './sqlite-management-store.js';
import { SqliteOAuth2TokenStore } from './sqlite-oauth2-token-store.js';
import { SqliteQueue } from './sqlite-queue.js';
import { SqliteStateStore } from './sqlite-state-store.js';
import { WriteBatcher } from './write-batcher.js';

/** Every local-mode adapter, on one SQLite file in dataDir. */
export interface LocalStores {
  readonly state: SqliteStateStore;
  readonly attempts: SqliteAttemptLog;
  readonly actions: SqliteActionLog;
  readonly throttle: MemoryEndpointThrottle;
  readonly oauth2Tokens: SqliteOAuth2TokenStore;
  readonly ingest: SqliteQueue<IngestRecord>;
  readonly deliveries: SqliteQueue<DeliveryRecord>;
  readonly blobs: SqliteBlobStore;
  readonly apiTokens: SqliteApiTokens;
  readonly managedAccounts: SqliteManagedDocuments;
  readonly managedSubscriptions: SqliteManagedDocuments;
  close(): void;
}

export function openLocalStores(dataDir: string, clock: Clock): LocalStores {
  const db = openLocalDatabase(dataDir);
  const writes = new WriteBatcher(db);
  return {
    state: new SqliteStateStore(db, clock, writes),
    attempts: new SqliteAttemptLog(db, writes),
    actions: new SqliteActionLog(db, writes),
    throttle: new MemoryEndpointThrottle(clock),
    oauth2Tokens: new SqliteOAuth2TokenStore(db),
    ingest: new SqliteQueue<IngestRecord>(db, 'ingest', clock, writes),
    deliveries: new SqliteQueue<DeliveryRecord>(db, 'delivery', clock, writes, (r) => r.subscriptionId),
    blobs: new SqliteBlobStore(db, writes, () => clock.now(), persistentKey(db, 'blob-url-key')),
    apiTokens: new SqliteApiTokens(db, clock),
    managedAccounts: new SqliteManagedDocuments(db, 'account', clock),
    managedSubscriptions: new SqliteManagedDocuments(db, 'subscription', clock),
    close: () => db.close(),
  };
}
