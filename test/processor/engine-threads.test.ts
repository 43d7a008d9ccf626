/**
 * Engines on engine threads (PROCESSOR_THREADS > 1) against engines on the test's own
 * thread: the same records in the same batches give the same results and the same stored
 * pieces, for several partitions at once spread over the threads, restores from the
 * stored pieces included; an engine that throws on its thread rejects the call and only
 * that call; a thread that dies rejects what was in flight on it and the next engine
 * opens on a new one.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import pino from 'pino'
import type { InputRecord, SnapshotPiece } from '../../src/engine/types.ts'
import { isRtsaError } from '../../src/errors/catalogue.ts'
import { RecordSource } from '../../src/generator/faults.ts'
import { EventModel } from '../../src/generator/model.ts'
import { createEngineFactory, type EngineFactorySettings } from '../../src/processor/engine-adapter.ts'
import { type EngineHandle, type EngineOutput, inlineEngines } from '../../src/processor/engine-handle.ts'
import { engineThreads } from '../../src/processor/engine-threads.ts'

const SETTINGS: EngineFactorySettings = {
  window: 60_000,
  windows: [60_000, 3_600_000],
  watermark: 600_000,
  viewerTimeout: 300_000,
  maxClockSkew: 300_000,
}
const log = pino({ level: 'silent' })

/** Generator traffic with every fault kind, split over `partitions` partitions by stream. */
function traffic(partitions: number, n: number): InputRecord[][] {
  const model = new EventModel({
    seed: 'threads-test',
    streamIds: Array.from({ length: 12 }, (_, i) => `stream_${i}`),
    userCount: 400,
    eventsPerSec: 20,
    startMs: Date.UTC(2026, 11, 2, 9, 0, 0),
  })
  const faults = {
    duplicate: 0.05,
    disorder: 0.1,
    disorderMaxMs: 60_000,
    late: 0.02,
    lateByMs: 600_000,
    malformed: 0.02,
  }
  const source = new RecordSource(model, faults, 'threads-test')
  const out: InputRecord[][] = Array.from({ length: partitions }, () => [])
  for (let i = 0; i < n; i++) {
    const r = source.next()
    const p = Number(r.key.replace(/\D/g, '') || 0) % partitions
    const list = out[p]!
    list.push({
      partition: p,
      offset: BigInt(list.length),
      key: Buffer.from(r.key),
      value: Buffer.from(r.value),
      timestamp: Math.floor(r.emitMicros / 1000),
    })
  }
  return out
}

/** An output as plain data (Buffers as hex), to compare across threads. */
function plain(o: EngineOutput): unknown {
  return JSON.parse(JSON.stringify(o, (_, v) => (typeof v === 'bigint' ? `${v}n` : v)))
}

test('four partitions on two engine threads = the same engines on this thread, restores from stored pieces included', async () => {
  const parts = traffic(4, 6000)
  const threads = engineThreads({ threads: 2, engine: SETTINGS, log })
  const inline = inlineEngines(createEngineFactory(SETTINGS))
  try {
    const stores = parts.map(() => new Map<string, Buffer>())
    const pieces = (p: number): SnapshotPiece[] => [...stores[p]!].map(([key, data]) => ({ key, data }))
    let a: EngineHandle[] = await Promise.all(parts.map((_, p) => threads.open(p, [])))
    let b: EngineHandle[] = await Promise.all(parts.map((_, p) => inline.open(p, [])))
    const pos = parts.map(() => 0)
    for (let round = 0; pos.some((x, p) => x < parts[p]!.length); round++) {
      // Batches of every partition at once, as the processor sends them, of varying sizes.
      const size = 50 + ((round * 37) % 400)
      const provisional = round % 3 !== 1
      const batches = parts.map((recs, p) => recs.slice(pos[p], pos[p]! + size + p * 7))
      const [got, want] = await Promise.all([
        Promise.all(batches.map((recs, p) => a[p]!.run(recs, provisional))),
        Promise.all(batches.map((recs, p) => b[p]!.run(recs, provisional))),
      ])
      for (let p = 0; p < parts.length; p++) {
        assert.deepEqual(plain(got[p]!), plain(want[p]!), `partition ${p}, round ${round}`)
        assert.ok(got[p]!.snapshot.put.every((x) => Buffer.isBuffer(x.data)))
        assert.ok(got[p]!.result.deadLetters.every((d) => Buffer.isBuffer(d.value)))
        assert.equal(a[p]!.hasPendingOutput(), b[p]!.hasPendingOutput())
        assert.equal(a[p]!.nextOffset(), b[p]!.nextOffset())
        for (const x of got[p]!.snapshot.put) stores[p]!.set(x.key, x.data)
        for (const k of got[p]!.snapshot.delete) stores[p]!.delete(k)
        pos[p]! += batches[p]!.length
      }
      if (round % 5 === 4) {
        // Both restored from the stored pieces, as a new owner of the partitions would be.
        for (const h of [...a, ...b]) h.close()
        a = await Promise.all(parts.map((_, p) => threads.open(p, pieces(p))))
        b = await Promise.all(parts.map((_, p) => inline.open(p, pieces(p))))
      }
    }
    assert.ok(
      parts.every((recs) => recs.length > 500),
      'every partition had traffic',
    )
  } finally {
    await threads.close()
  }
})

const WRAP = new URL('./throwing-engine.ts', import.meta.url).href

const marked = (r: InputRecord, mark: string): InputRecord => ({
  ...r,
  value: Buffer.from(`${mark}${r.value}`),
})

test('an engine that throws on its thread rejects that call; the other engines of the thread go on', async () => {
  const threads = engineThreads({ threads: 1, engine: SETTINGS, log, wrapModule: WRAP })
  try {
    const [p0, p1] = traffic(2, 400)
    const a = await threads.open(0, [])
    const b = await threads.open(1, [])
    await a.run(p0!.slice(0, 100), true)
    await assert.rejects(a.run([p0![100]!, marked(p0![101]!, 'THROW')], true), (e: unknown) => {
      assert.ok(e instanceof Error && e.name === 'TypeError', String(e))
      assert.match(e.message, /injected bug at offset 101/)
      return true
    })
    const out = await b.run(p1!, true)
    assert.equal(out.result.nextOffset, BigInt(p1!.length))
    // Incompatible stored pieces: the open rejects with the engine's own code.
    await assert.rejects(
      threads.open(2, [{ key: 'partition', data: Buffer.from([9, 9, 9]) }]),
      (e: unknown) => isRtsaError(e, 'SNAPSHOT_INCOMPATIBLE'),
    )
    a.close()
    await assert.rejects(a.run([], true), /closed/)
  } finally {
    await threads.close()
  }
})

test('a thread that dies rejects the calls in flight on it; the next engine opens on a new thread', async () => {
  const threads = engineThreads({ threads: 1, engine: SETTINGS, log, wrapModule: WRAP })
  try {
    const [p0] = traffic(1, 300)
    const a = await threads.open(0, [])
    await assert.rejects(a.run([marked(p0![0]!, 'EXIT')], true), /exited/)
    await assert.rejects(a.run(p0!, true))
    const again = await threads.open(0, [])
    const out = await again.run(p0!, true)
    assert.equal(out.result.nextOffset, BigInt(p0!.length))
  } finally {
    await threads.close()
  }
})
