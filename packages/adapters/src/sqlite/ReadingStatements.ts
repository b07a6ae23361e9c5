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
    revision = readings.revision + 1, pending_event = COALESCE(readings.pending_event, 'updated')
  WHERE readings.glucose_mg_dl IS NOT excluded.glucose_mg_dl OR readings.trend IS NOT excluded.trend
     OR readings.trend_rate IS NOT excluded.trend_rate OR readings.status IS NOT excluded.status
  RETURNING revision, pending_event`

/** Clears the owed event of a reading whose stored measurement is still the one that was published. */
export const CONFIRM_READING = `
  UPDATE readings SET pending_event = NULL
  WHERE user_id = ? AND ts = ? AND glucose_mg_dl = ? AND trend = ? AND trend_rate IS ? AND status = ?`
