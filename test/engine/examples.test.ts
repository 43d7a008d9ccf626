/**
 * Hand-written examples, one per rule of the spec, with the default settings
 * (1-minute windows, 10-minute watermark, 5-minute viewer timeout).
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createPartitionEngine } from '../../src/engine/index.ts'
import type { BatchResult, WindowRow } from '../../src/engine/types.ts'
import { isRtsaError } from '../../src/errors/catalogue.ts'
import type { StreamEvent } from '../../src/events/types.ts'
import { ev, records, rowKey, TableModel, testDecode } from './helpers.ts'

const M = 60_000
const CFG = { windowMs: M, watermarkMs: 10 * M, viewerTimeoutMs: 5 * M }
const T0 = Date.UTC(2025, 11, 20, 18, 0, 0)
const at = (minutes: number) => T0 + Math.round(minutes * M)

/** Runs events one batch each; a far-future record of another stream finalizes everything. */
function run(events: StreamEvent[], opts: { finalize?: boolean } = {}) {
  const engine = createPartitionEngine(CFG, 0, { decode: testDecode })
  const tables = new TableModel()
  const results: BatchResult[] = []
  const all =
    opts.finalize === false ? events : [...events, ev(at(24 * 60), 'stream_start', 'x', { stream: 'zz' })]
  records(all).forEach((r) => {
    const res = engine.process([r])
    results.push(res)
    tables.apply(res)
  })
  const rows = tables.allRows().filter((r) => r.streamId === 's1')
  const row = (minute: number): WindowRow | undefined => rows.find((r) => r.windowStart === at(minute))
  return { engine, tables, results, rows, row }
}

/** The viewer columns of a row: [active, peak, unique]. */
const viewers = (r: WindowRow | undefined) =>
  r === undefined ? undefined : [r.activeViewers, r.peakViewers, r.uniqueViewers]

test('presence intervals are half-open: a leave at a window end still counts in that window', () => {
  const { row } = run([ev(at(0), 'viewer_join', 'a'), ev(at(2), 'viewer_leave', 'a')])
  assert.deepEqual(viewers(row(0)), [1, 1, 1])
  assert.deepEqual(viewers(row(1)), [1, 1, 1]) // from < e <= until with until = e
  assert.deepEqual(viewers(row(2)), [0, 0, 0]) // absent from 2:00 on; the row exists for the leave record
  assert.equal(row(2)?.viewerLeaves, 1)
  assert.equal(row(3), undefined)
})

test('a timeout and a record at the same instant: the timeout comes first', () => {
  // Heartbeat exactly at a + 5 min: the user already timed out, the heartbeat does not bring them back.
  const late = run([ev(at(0), 'viewer_join', 'a'), ev(at(5), 'heartbeat', 'a')])
  assert.deepEqual(viewers(late.row(4)), [1, 1, 1])
  assert.deepEqual(viewers(late.row(5)), [0, 0, 0])
  assert.equal(late.row(5)?.events, 1)
  // One millisecond earlier the heartbeat refreshes: present until 10:00 - 1 ms.
  const early = run([ev(at(0), 'viewer_join', 'a'), ev(at(5) - 1, 'heartbeat', 'a')])
  assert.deepEqual(viewers(early.row(8)), [1, 1, 1])
  assert.deepEqual(viewers(early.row(9)), [0, 1, 1]) // gone at 9:59.999, before the window closes
  assert.equal(early.row(10), undefined)
  // A join at the timeout instant continues the presence: no dip, one user.
  const rejoin = run([ev(at(0), 'viewer_join', 'a'), ev(at(5), 'viewer_join', 'a')])
  assert.deepEqual(viewers(rejoin.row(5)), [1, 1, 1])
  assert.deepEqual(viewers(rejoin.row(9)), [1, 1, 1])
  assert.equal(rejoin.row(10), undefined)
})

test('leave before join: in event time it changes nothing; arriving late it still applies in event time', () => {
  const eventTime = run([ev(at(0.1), 'viewer_leave', 'a'), ev(at(0.5), 'viewer_join', 'a')])
  assert.deepEqual(viewers(eventTime.row(0)), [1, 1, 1])
  assert.deepEqual(viewers(eventTime.row(5)), [0, 1, 1]) // timed out at 5:30
  // Arrival order leave(1:00), join(0:30): applied as join then leave.
  const arrival = run([ev(at(1), 'viewer_leave', 'a'), ev(at(0.5), 'viewer_join', 'a')])
  assert.deepEqual(viewers(arrival.row(0)), [1, 1, 1])
  assert.deepEqual(viewers(arrival.row(1)), [0, 0, 0])
  assert.equal(arrival.row(1)?.viewerLeaves, 1)
})

test('joining twice is one presence, refreshed by the second join', () => {
  const { row } = run([ev(at(0), 'viewer_join', 'a'), ev(at(3), 'viewer_join', 'a')])
  assert.equal(row(0)?.viewerJoins, 1)
  assert.equal(row(3)?.viewerJoins, 1)
  assert.deepEqual(viewers(row(3)), [1, 1, 1])
  assert.deepEqual(viewers(row(7)), [1, 1, 1]) // timeout at 8:00
  assert.equal(row(8), undefined)
})

test('late versus duplicate', () => {
  const first = ev(at(0), 'chat_message', 'a', { id: 'dup' })
  const { results, rows } = run([
    first,
    ev(at(1), 'chat_message', 'a', { id: 'dup' }), // same id, original not below the watermark: duplicate
    ev(at(20), 'heartbeat', 'b'), // watermark 10:00
    ev(at(9), 'chat_message', 'a'), // below the watermark: late
    first, // an old copy: late (its id may have been forgotten)
    ev(at(15), 'chat_message', 'a', { id: 'dup' }), // original below the watermark now: accepted
  ])
  const reasons = results.flatMap((r) => r.deadLetters.map((d) => [Number(d.offset), d.reason]))
  assert.deepEqual(reasons, [
    [1, 'duplicate'],
    [3, 'late'],
    [4, 'late'],
  ])
  assert.equal(rows.find((r) => r.windowStart === at(15))?.chatMessages, 1)
  assert.equal(rows.find((r) => r.windowStart === at(0))?.chatMessages, 1)
})

test('a window with present viewers and no record has a row', () => {
  const { row } = run([ev(at(0), 'viewer_join', 'a'), ev(at(4), 'heartbeat', 'a')])
  for (const m of [5, 6, 7, 8]) {
    assert.deepEqual(viewers(row(m)), [1, 1, 1], `minute ${m}`)
    assert.equal(row(m)?.events, 0)
  }
  assert.deepEqual(viewers(row(8)), [1, 1, 1]) // present until 9:00: active at 8:59.999
  assert.equal(row(9), undefined)
})

test('stream_stop makes everyone absent; stream_start/stop tell whether the stream is live', () => {
  const { row, tables } = run([
    ev(at(0), 'stream_start', 'host'),
    ev(at(0.1), 'viewer_join', 'a'),
    ev(at(0.2), 'viewer_join', 'b'),
    ev(at(1.1), 'viewer_join', 'c'),
    ev(at(1.5), 'stream_stop', 'host'),
    ev(at(1.6), 'heartbeat', 'a'), // absent: no effect
    ev(at(3), 'viewer_join', 'd'), // present again after the stop
  ])
  assert.deepEqual(viewers(row(0)), [2, 2, 2])
  assert.deepEqual(viewers(row(1)), [0, 3, 3])
  assert.deepEqual(viewers(row(3)), [1, 1, 1])
  assert.equal(row(2), undefined)
  assert.equal(tables.states.get('s1')?.live, false)
})

test('peak, active and unique differ', () => {
  const { row } = run([
    ev(at(0.1), 'viewer_join', 'a'),
    ev(at(0.2), 'viewer_leave', 'a'),
    ev(at(0.3), 'viewer_join', 'b'),
    ev(at(0.4), 'viewer_leave', 'b'),
    ev(at(0.5), 'viewer_join', 'a'),
    ev(at(0.6), 'viewer_leave', 'a'),
  ])
  assert.deepEqual(viewers(row(0)), [0, 1, 2])
})

test('a join and a leave at the same instant: order by event id', () => {
  // Join then leave (ids a < b): an empty presence, never counted.
  const empty = run([
    ev(at(0.5), 'viewer_join', 'u', { id: 'a' }),
    ev(at(0.5), 'viewer_leave', 'u', { id: 'b' }),
  ])
  assert.deepEqual(viewers(empty.row(0)), [0, 0, 0])
  // Leave then join (ids a < b): present from that instant.
  const present = run([
    ev(at(0.5), 'viewer_leave', 'u', { id: 'a' }),
    ev(at(0.5), 'viewer_join', 'u', { id: 'b' }),
  ])
  assert.deepEqual(viewers(present.row(0)), [1, 1, 1])
})

test('donations are summed in whole cents; chat counts messages and distinct chatters', () => {
  const { row } = run([
    ev(at(0.1), 'donation', 'a', { cents: 1999 }),
    ev(at(0.2), 'donation', 'b', { cents: 1 }),
    ev(at(0.3), 'donation', 'a', { cents: 250 }),
    ev(at(0.4), 'chat_message', 'a', { len: 3 }),
    ev(at(0.5), 'chat_message', 'a', { len: 3 }),
    ev(at(0.6), 'chat_message', 'c', { len: 3 }), // chatting while absent still counts as chat
  ])
  const r = row(0)!
  assert.deepEqual(
    [r.donationsCents, r.donationCount, r.chatMessages, r.uniqueChatters, r.events],
    [2250, 3, 3, 2, 6],
  )
  assert.deepEqual(viewers(r), [0, 0, 0])
})

test('is_final: provisional rows first, then exactly one final row once the watermark reaches the window end', () => {
  const { results } = run(
    [
      ev(at(0), 'viewer_join', 'a'),
      ev(at(5), 'viewer_join', 'b'),
      ev(at(10), 'heartbeat', 'b'),
      ev(at(11), 'heartbeat', 'b'),
    ],
    { finalize: false },
  )
  const w0 = results.map((r) => r.windows.find((x) => x.streamId === 's1' && x.windowStart === at(0)))
  assert.equal(w0[0]?.isFinal, false) // provisional as soon as the record is read
  assert.equal(w0[1], undefined) // unchanged: not re-emitted
  assert.equal(w0[2], undefined) // watermark 0:00: not final yet
  assert.equal(w0[3]?.isFinal, true) // watermark 1:00 >= window end
  assert.equal(results[3]?.watermark, at(1))
  assert.deepEqual(viewers(w0[3]), [1, 1, 1])
})

test('provisional rows change with out-of-order records; final rows never change', () => {
  const engine = createPartitionEngine(CFG, 0, { decode: testDecode })
  const tables = new TableModel()
  const step = (e: StreamEvent, offset: number) => {
    const res = engine.process(records([e], 0, BigInt(offset)))
    tables.apply(res) // throws if a final row is emitted again or removed
    return res
  }
  step(ev(at(0), 'viewer_join', 'a'), 0)
  step(ev(at(3), 'heartbeat', 'zz'), 1)
  assert.deepEqual(viewers(tables.rows.get(rowKey({ streamId: 's1', windowStart: at(0) }))), [1, 1, 1])
  // Windows 1..3 got provisional rows once the partition's newest record reached them.
  assert.deepEqual(viewers(tables.rows.get(rowKey({ streamId: 's1', windowStart: at(3) }))), [1, 1, 1])
  // A leave at 0:30 arrives late but within the watermark: window 0 changes, windows 1..3 lose their rows.
  const res = step(ev(at(0.5), 'viewer_leave', 'a'), 2)
  assert.deepEqual(viewers(res.windows.find((r) => r.windowStart === at(0))), [0, 1, 1])
  assert.ok(res.removedWindows.some((k) => k.windowStart === at(1)))
  const fin = step(ev(at(30), 'heartbeat', 'zz'), 3)
  const final0 = fin.windows.find((r) => r.streamId === 's1' && r.windowStart === at(0))
  assert.equal(final0?.isFinal, true)
  assert.deepEqual(viewers(final0), [0, 1, 1])
  assert.equal(tables.rows.has(rowKey({ streamId: 's1', windowStart: at(1) })), false)
})

test('state rows: viewers at the newest record, counters, watermark', () => {
  const { tables } = run(
    [
      ev(at(0), 'viewer_join', 'a'),
      ev(at(1), 'viewer_join', 'b', { id: 'j' }),
      ev(at(1), 'viewer_join', 'b', { id: 'j' }),
      ev(at(5.5), 'heartbeat', 'b'), // a timed out at 5:00, b is present until 10:30
      '{garbage' as unknown as StreamEvent,
    ],
    { finalize: false },
  )
  const s = tables.states.get('s1')
  assert.deepEqual(s, {
    streamId: 's1',
    partition: 0,
    activeViewers: 1,
    live: null,
    lastEventTs: at(5.5),
    acceptedCount: 3,
    lateCount: 0,
    duplicateCount: 1,
    rejectedCount: 0, // the garbage record names stream 'bad' (its key)
    watermark: at(-4.5),
  })
})

test('records below the next offset are skipped (a replay after restore applies nothing twice)', () => {
  const engine = createPartitionEngine(CFG, 0, { decode: testDecode })
  const recs = records([ev(at(0), 'viewer_join', 'a'), ev(at(1), 'chat_message', 'a')])
  engine.process(recs)
  const again = engine.process(recs)
  assert.equal(again.counters.skipped, 2)
  assert.equal(again.counters.accepted, 0)
  assert.equal(engine.nextOffset(), 2n)
})

test('a snapshot of another format version or other settings is SNAPSHOT_INCOMPATIBLE', () => {
  const engine = createPartitionEngine(CFG, 0, { decode: testDecode })
  engine.process(records([ev(at(0), 'viewer_join', 'a')]))
  const snap = engine.snapshot()
  const other = Buffer.from(snap)
  other[0] = 99
  const incompatible = (f: () => unknown) =>
    assert.throws(f, (e: unknown) => isRtsaError(e, 'SNAPSHOT_INCOMPATIBLE'))
  incompatible(() => createPartitionEngine(CFG, 0, { snapshot: other }))
  incompatible(() => createPartitionEngine({ ...CFG, windowMs: 2 * M }, 0, { snapshot: snap }))
  incompatible(() => createPartitionEngine(CFG, 1, { snapshot: snap }))
  const pieces = engine.snapshotChanges().put.map((p) => (p.key === 'partition' ? { ...p, data: other } : p))
  incompatible(() => createPartitionEngine(CFG, 0, { snapshot: pieces }))
  // The right settings restore fine.
  assert.equal(createPartitionEngine(CFG, 0, { snapshot: snap }).nextOffset(), 1n)
})

test('a batch stores little: a log chunk, the touched stream heads and the partition header', () => {
  const engine = createPartitionEngine(CFG, 0, { decode: testDecode })
  const users = Array.from({ length: 200 }, (_, i) => ev(at(0), 'viewer_join', `u${i}`))
  engine.process(records(users))
  engine.snapshotChanges()
  // A record four minutes later: no window becomes final, nothing but the batch's own record is stored.
  const later = engine.process(records([ev(at(4), 'heartbeat', 'u1')], 0, 200n))
  const changes = engine.snapshotChanges()
  assert.deepEqual(changes.put.map((p) => p.key).sort(), ['h:s1', 'l:000000000001', 'partition'])
  assert.ok(changes.put.reduce((n, p) => n + p.data.length, 0) < 300)
  // Windows 1..4 get provisional rows: the users' presence reached them (until their 5:00 timeout).
  assert.deepEqual(
    later.windows.map((r) => [r.windowStart, r.activeViewers]),
    [1, 2, 3, 4].map((m) => [at(m), 200]),
  )
  // Twenty minutes later windows up to 10:00 are final and the users timed out: no base is stored.
  engine.process(records([ev(at(20), 'heartbeat', 'u1')], 0, 201n))
  const fold = engine.snapshotChanges()
  assert.deepEqual(fold.put.map((p) => p.key).sort(), ['h:s1', 'l:000000000002', 'partition'])
  assert.deepEqual(fold.delete, ['l:000000000000', 'l:000000000001'])
})
