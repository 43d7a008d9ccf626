/**
 * The API against what the processor really writes: batches committed with the
 * processor's own store code (src/store/checkpoints.ts), including its NOTIFY, are
 * served by the API and pushed to /live.
 */
import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { buildApp } from '../../src/api/app.ts'
import type { StreamStateRow, WindowRow } from '../../src/engine/types.ts'
import { claimPartition, commitBatch } from '../../src/store/checkpoints.ts'
import { defer } from '../helpers/services.ts'
import {
  assertMatchesOpenApi,
  clearOfMinuteEdge,
  listenerReady,
  MINUTE,
  minuteStart,
  setupDatabase,
} from './fixtures.ts'

function windowRow(streamId: string, start: Date, over: Partial<WindowRow> = {}): WindowRow {
  return {
    streamId,
    windowStart: start.getTime(),
    windowEnd: start.getTime() + MINUTE,
    activeViewers: 5,
    peakViewers: 6,
    uniqueViewers: 7,
    viewerJoins: 3,
    viewerLeaves: 1,
    chatMessages: 11,
    uniqueChatters: 4,
    donationsCents: 1001,
    donationCount: 2,
    events: 20,
    isFinal: false,
    ...over,
  }
}

function stateRow(now: number, streamId: string, over: Partial<StreamStateRow> = {}): StreamStateRow {
  return {
    streamId,
    partition: 0,
    activeViewers: 5,
    live: true,
    lastEventTs: now - 1000,
    acceptedAdded: 20,
    lateAdded: 1,
    duplicateAdded: 0,
    rejectedAdded: 2,
    watermark: minuteStart(3, now).getTime(),
    ...over,
  }
}

test('processor commits (real store code + NOTIFY) reach the API and /live', async (t) => {
  const now = clearOfMinuteEdge()
  const { pool } = await setupDatabase(t)
  const topic = 'stream.events'
  const claim = await claimPartition(pool, topic, 0, 'test-proc')
  const commit = (
    nextOffset: bigint,
    windows: WindowRow[],
    states: StreamStateRow[],
    removed: WindowRow[] = [],
  ) =>
    commitBatch(pool, {
      topic,
      partition: 0,
      epoch: claim.epoch,
      nextOffset,
      watermark: minuteStart(3, now()).getTime(),
      endOffset: 150n,
      windows,
      removedWindows: removed.map((w) => ({ streamId: w.streamId, windowStart: w.windowStart })),
      rollups: [],
      removedRollups: [],
      liveChanges: [],
      states,
      counts: [],
      outcomes: {},
      deadLetters: [
        {
          partition: 0,
          offset: nextOffset - 1n,
          key: Buffer.from('stream_x'),
          value: Buffer.from('{"event_type":"bogus"}'),
          reason: 'bad_event_type',
          detail: 'unknown event_type',
          streamId: 'stream_x',
          ts: null,
        },
      ],
      snapshot: { put: [], delete: [] },
    })
  assert.equal(
    await commit(
      100n,
      [
        windowRow('stream_x', minuteStart(4, now()), { isFinal: true }),
        windowRow('stream_x', minuteStart(1, now())),
      ],
      [stateRow(now(), 'stream_x')],
    ),
    'committed',
  )

  const app = await buildApp({ pool, clock: now, config: {}, live: { coalesceMs: 100 } })
  defer(t, () => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`

  const latest = await app.inject('/metrics/latest?stream_id=stream_x')
  assertMatchesOpenApi(app, 'GET', '/metrics/latest', latest)
  const row = latest.json().rows[0]
  assert.equal(row.window_start, minuteStart(1, now()).toISOString())
  assert.equal(row.donations_usd, '10.01')
  assert.equal(row.is_final, false)
  const final = (await app.inject('/metrics/latest?stream_id=stream_x&final=true')).json().rows[0]
  assert.equal(final.window_start, minuteStart(4, now()).toISOString())
  const ready = (await app.inject('/ready')).json()
  assert.equal(ready.components.processor.lag, 50)
  assert.equal(ready.components.processor.status, 'fresh')
  const dl = (await app.inject('/dead-letters')).json()
  assert.equal(dl.rows[0].reason, 'bad_event_type')
  assert.equal(dl.rows[0].value.data, '{"event_type":"bogus"}')

  // Live: the processor's own NOTIFY drives the update.
  const controller = new AbortController()
  defer(t, () => controller.abort())
  const res = await fetch(`${base}/live?minutes=10`, { signal: controller.signal })
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
  let text = ''
  const waitFor = async (needle: string) => {
    const deadline = Date.now() + 10_000
    while (!text.includes(needle)) {
      if (Date.now() > deadline) throw new Error(`no ${needle} in the stream`)
      const { value, done } = await reader.read()
      if (done) throw new Error('stream ended')
      text += value
    }
  }
  await waitFor('event: snapshot')
  await listenerReady(pool)
  await commit(
    120n,
    [windowRow('stream_x', minuteStart(0, now()), { activeViewers: 4321 })],
    [stateRow(now(), 'stream_x', { activeViewers: 4321, acceptedAdded: 40 })],
    [windowRow('stream_x', minuteStart(1, now()))],
  )
  await waitFor('"active_viewers":4321')
  // The removed provisional window is gone from the API too.
  const history = (await app.inject('/metrics/history?minutes=10&stream_id=stream_x')).json()
  assert.deepEqual(
    history.rows.map((r: { window_start: string }) => r.window_start),
    [minuteStart(4, now()).toISOString(), minuteStart(0, now()).toISOString()],
  )
  await reader.cancel().catch(() => {})
})
