/** SQL pieces the read models share. */

/**
 * A timestamptz as the text `Date.prototype.toISOString()` gives (`2026-01-02T03:04:05.678Z`:
 * UTC, milliseconds truncated like pg's parser does), formatted by the database: the API
 * returns hundreds of rows per request, and parsing every timestamp into a Date only to
 * format it again was a large part of its CPU time. NULL stays NULL.
 */
export function isoText(column: string, alias: string): string {
  return `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as ${alias}`
}
