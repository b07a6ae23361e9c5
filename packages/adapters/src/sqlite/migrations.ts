/** Schema migrations, applied in order at start-up; a migration is never edited once released, only added. */
export interface Migration {
  readonly version: number
  readonly name: string
  readonly sql: string
}

export const migrations: ReadonlyArray<Migration> = [
  {
    version: 1,
    name: "readings and connections",
    sql: `
      CREATE TABLE readings (
        user_id       TEXT    NOT NULL,
        ts            INTEGER NOT NULL,                  -- epoch seconds, UTC
        glucose_mg_dl INTEGER NOT NULL,
        trend         TEXT    NOT NULL,
        trend_rate    REAL,
        status        TEXT    NOT NULL,
        provider      TEXT    NOT NULL,
        record_id     TEXT,
        display_time  TEXT,
        ingested_at   INTEGER NOT NULL,                  -- epoch milliseconds
        updated_at    INTEGER NOT NULL,
        revision      INTEGER NOT NULL DEFAULT 0,        -- 0 when inserted, +1 per update
        pending_event TEXT CHECK (pending_event IN ('created', 'updated')),  -- event not yet confirmed
        PRIMARY KEY (user_id, ts)
      ) WITHOUT ROWID;
      CREATE INDEX readings_pending_events ON readings (ingested_at) WHERE pending_event IS NOT NULL;

      CREATE TABLE connections (
        user_id              TEXT    NOT NULL,
        provider             TEXT    NOT NULL,
        status               TEXT    NOT NULL,
        credentials          TEXT,
        backfill_from        INTEGER NOT NULL,           -- epoch milliseconds, as every time below
        synced_through       INTEGER,
        last_sync_at         INTEGER,
        last_reading_at      INTEGER,
        last_error           TEXT,
        next_poll_at         INTEGER,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        created_at           INTEGER NOT NULL,
        updated_at           INTEGER NOT NULL,
        PRIMARY KEY (user_id, provider)
      );
      CREATE INDEX connections_due ON connections (next_poll_at) WHERE next_poll_at IS NOT NULL;
    `
  },
  {
    version: 2,
    name: "oauth states",
    sql: `
      CREATE TABLE oauth_states (
        state_hash TEXT    PRIMARY KEY,                  -- hex SHA-256 of the OAuth state, never the state itself
        user_id    TEXT    NOT NULL,
        provider   TEXT    NOT NULL,
        created_at INTEGER NOT NULL,                     -- epoch milliseconds
        expires_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX oauth_states_expiry ON oauth_states (expires_at);
    `
  },
  {
    version: 3,
    name: "connections remember when the provider was last pulled",
    sql: `
      ALTER TABLE connections ADD COLUMN changes_since INTEGER;  -- epoch milliseconds; null until first known
    `
  },
  {
    version: 4,
    name: "nightscout sites",
    sql: `
      CREATE TABLE nightscout_sites (
        user_id     TEXT    PRIMARY KEY,
        secret_hash TEXT    NOT NULL UNIQUE,             -- digests of the credentials' SHA-1, never the credentials
        token_hash  TEXT    NOT NULL UNIQUE,
        created_at  INTEGER NOT NULL,                    -- epoch milliseconds
        updated_at  INTEGER NOT NULL
      ) WITHOUT ROWID;
    `
  },
  {
    version: 5,
    name: "connections remember who holds their lease",
    sql: `
      ALTER TABLE connections ADD COLUMN lease_holder TEXT;  -- the replica that claimed it last
    `
  },
  {
    version: 6,
    name: "call budgets shared by every process on the database",
    sql: `
      CREATE TABLE call_budget (
        budget_key   TEXT    NOT NULL,                   -- a provider application
        window_start INTEGER NOT NULL,                   -- epoch milliseconds
        window_end   INTEGER NOT NULL,
        calls        INTEGER NOT NULL,
        PRIMARY KEY (budget_key, window_start)
      ) WITHOUT ROWID;
    `
  },
  {
    version: 7,
    name: "readings remember when the publication of their owed event last started",
    sql: `
      -- epoch milliseconds of a sweep's claim (-2^53+1: released after a failed publish); NULL: since updated_at, when
      -- the reading was written and its writer began publishing it
      ALTER TABLE readings ADD COLUMN publish_claim INTEGER;
    `
  }
]
