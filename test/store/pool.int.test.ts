/** The bigint convention belongs to rtsa's pools, not to pg's process-wide state. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import pg from 'pg'
import { createPool, PG_TYPES } from '../../src/store/pool.ts'
import { defer, freshDatabase } from '../helpers/services.ts'

test('createPool: int8 as numbers; numeric and other types as pg reads them; nothing set globally', async (t) => {
  const url = await freshDatabase(t)
  const pool = createPool(url, { max: 1 })
  defer(t, () => pool.end())
  const sql = `select 9007199254740991::int8 as big, 12::int4 as small, 1.50::numeric as money,
    timestamptz '2026-01-01T00:00:00Z' as at, null::int8 as none`
  const ours = (await pool.query(sql)).rows[0]
  assert.deepEqual(ours, {
    big: 9007199254740991,
    small: 12,
    money: '1.50',
    at: new Date('2026-01-01T00:00:00Z'),
    none: null,
  })

  // A client that does not ask for rtsa's types still gets pg's defaults: importing the
  // store changed no global parser.
  const plain = new pg.Client({ connectionString: url })
  await plain.connect()
  defer(t, () => plain.end())
  assert.equal((await plain.query(sql)).rows[0].big, '9007199254740991')
  const asked = new pg.Client({ connectionString: url, types: PG_TYPES })
  await asked.connect()
  defer(t, () => asked.end())
  assert.equal((await asked.query(sql)).rows[0].big, 9007199254740991)
})
