/** The reading table's columns, in the order the statements below bind and select them. */
export const READING_COLUMNS =
  "user_id, ts, glucose_mg_dl, trend, trend_rate, status, provider, record_id, display_time"

/**
 * An insert, or an update only when the measurement differs: RETURNING yields a row for exactly those two, with
 * the revision (0 when inserted) and the event the reading owes. Binds the columns, then ingested_at, updated_at.
 */
export const UPSERT_READING = `
  INSERT INTO readings (${READING_COLUMNS}, ingested_at, updated_at, revision, pending_event)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 'created')
  ON CONFLICT (user_id, ts) DO UPDATE SET
    glucose_mg_dl = excluded.glucose_mg_dl, trend = excluded.trend, trend_rate = excluded.trend_rate,
    status = excluded.status, provider = excluded.provider, record_id = excluded.record_id,
    display_time = excluded.display_time, updated_at = excluded.updated_at,
    revision = readings.revision + 1, pending_event = COALESCE(readings.pending_event, 'updated'),
    publish_claim = NULL
  WHERE readings.glucose_mg_dl IS NOT excluded.glucose_mg_dl OR readings.trend IS NOT excluded.trend
     OR readings.trend_rate IS NOT excluded.trend_rate OR readings.status IS NOT excluded.status
  RETURNING revision, pending_event`

/** The stored measurement is the given one: binds user_id, ts, then the measurement. */
const SAME_MEASUREMENT = "user_id = ? AND ts = ? AND glucose_mg_dl = ? AND trend = ? AND trend_rate IS ? AND status = ?"

/** Frees the owed event of a reading whose publication failed, for the next sweep, while it is still the same. */
export const RELEASE_READING = `
  UPDATE readings SET publish_claim = -9007199254740991 WHERE pending_event IS NOT NULL AND ${SAME_MEASUREMENT}`

/** Clears the owed event of a reading whose stored measurement is still the one that was published. */
export const CONFIRM_READING = `
  UPDATE readings SET pending_event = NULL
  WHERE user_id = ? AND ts = ? AND glucose_mg_dl = ? AND trend = ? AND trend_rate IS ? AND status = ?`
