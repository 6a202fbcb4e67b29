// The job store's tables (src/node/jobs/store.ts). PRAGMA user_version holds SCHEMA_VERSION; a
// store written by a newer schema is refused rather than misread.
export const SCHEMA_VERSION = 1;

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY,
  idem_key TEXT NOT NULL DEFAULT '',
  label TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL,
  stop_reason TEXT NOT NULL DEFAULT '',
  open INTEGER NOT NULL DEFAULT 0,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  ended_ms INTEGER NOT NULL DEFAULT 0,
  deadline_ms INTEGER NOT NULL,
  max_cost REAL,
  concurrency INTEGER NOT NULL,
  max_retries INTEGER NOT NULL,
  item_timeout_ms INTEGER NOT NULL,
  items INTEGER NOT NULL DEFAULT 0,
  done INTEGER NOT NULL DEFAULT 0,
  failed INTEGER NOT NULL DEFAULT 0,
  cancelled INTEGER NOT NULL DEFAULT 0,
  skipped INTEGER NOT NULL DEFAULT 0,
  cost REAL NOT NULL DEFAULT 0,
  bytes INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_idem_key ON jobs (idem_key) WHERE idem_key != '';
CREATE INDEX IF NOT EXISTS jobs_created ON jobs (created_ms);
CREATE TABLE IF NOT EXISTS items (
  job_id TEXT NOT NULL,
  idx INTEGER NOT NULL,
  state TEXT NOT NULL,
  request TEXT NOT NULL,
  input BLOB,
  status TEXT NOT NULL DEFAULT '',
  message TEXT NOT NULL DEFAULT '',
  attempts INTEGER NOT NULL DEFAULT 0,
  cost REAL NOT NULL DEFAULT 0,
  served_by TEXT NOT NULL DEFAULT '',
  latency_ms REAL NOT NULL DEFAULT 0,
  result TEXT,
  output BLOB,
  PRIMARY KEY (job_id, idx)
);
CREATE INDEX IF NOT EXISTS items_state ON items (job_id, state);
`;
