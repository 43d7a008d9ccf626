/**
 * Runs a partition engine over records the way the processor does: in batches,
 * storing every batch's snapshot changes, and sometimes "crashing" and restoring
 * (from the stored pieces or from a snapshot() buffer). Checks the emission and
 * storage contracts on the way, and compares the outcome with the oracle.
 */
import assert from 'node:assert/strict'
import { createPartitionEngine } from '../../src/engine/index.ts'
import { unpackPieces } from '../../src/engine/snapshot.ts'
import type { EngineConfig, InputRecord, PartitionEngine } from '../../src/engine/types.ts'
import { TableModel, testDecode } from './helpers.ts'
import { oracle } from './oracle.ts'

export type RestoreMode = 'none' | 'buffer' | 'pieces'

/** One partition being processed: engine, stored pieces, tables, verdicts. */
export class Run {
  readonly config: EngineConfig
  readonly partition: number
  readonly records: InputRecord[]
  engine: PartitionEngine
  readonly store = new Map<string, Buffer>()
  readonly tables = new TableModel()
  readonly verdicts = new Map<bigint, string>()
  pos = 0
  private readonly retainLog: boolean

  constructor(
    config: EngineConfig,
    partition: number,
    records: InputRecord[],
    opts: { retainLog?: boolean } = {},
  ) {
    this.config = config
    this.partition = partition
    this.records = records
    this.retainLog = opts.retainLog ?? true
    this.engine = createPartitionEngine(config, partition, { decode: testDecode, retainLog: this.retainLog })
  }

  get done(): boolean {
    return this.pos >= this.records.length
  }

  /** The last batch emitted provisional and state rows (else the tables lag until the next one that does). */
  lastProvisional = true

  /** Processes the next `size` records as one batch (`provisional`: see BatchOptions), then restores as asked. */
  batch(size: number, restore: RestoreMode, provisional = true): void {
    const batch = this.records.slice(this.pos, this.pos + size)
    this.pos += batch.length
    const res = this.engine.process(batch, { provisional })
    this.lastProvisional = provisional
    if (provisional)
      assert.equal(this.engine.hasPendingOutput(), false, 'nothing pending after an emitting batch')
    for (const d of res.deadLetters) this.verdicts.set(d.offset, d.reason)
    this.tables.apply(res)
    const changes = this.engine.snapshotChanges()
    for (const p of changes.put) this.store.set(p.key, p.data)
    for (const k of changes.delete) this.store.delete(k)
    if (!this.retainLog) {
      // snapshot() needs the log chunks the engine no longer keeps.
      if ([...this.store.keys()].some((k) => k.startsWith('l:'))) assert.throws(() => this.engine.snapshot())
      if (restore === 'pieces') this.restorePieces()
      return
    }
    // The stored pieces hold exactly the state of a full snapshot (which has no redo pieces:
    // every head in its own piece).
    const full = unpackPieces(this.engine.snapshot())
    const fromStore = createPartitionEngine(this.config, this.partition, {
      decode: testDecode,
      snapshot: [...this.store].map(([key, data]) => ({ key, data })),
    })
    assert.deepEqual(byKey(unpackPieces(fromStore.snapshot())), byKey(full), 'stored snapshot')
    assert.deepEqual(
      [...this.store.keys()].filter((k) => !k.startsWith('d:') && !k.startsWith('h:')).sort(),
      full
        .map((p) => p.key)
        .filter((k) => !k.startsWith('h:'))
        .sort(),
      'stored snapshot keys',
    )
    if (restore === 'buffer') {
      this.engine = createPartitionEngine(this.config, this.partition, {
        decode: testDecode,
        snapshot: this.engine.snapshot(),
      })
      // A restore from a buffer re-puts every piece on the next call (its heads each in their
      // own piece: a redo piece the store holds is stale then).
      const again = this.engine.snapshotChanges()
      assert.equal(again.put.length, full.length)
      for (const p of again.put) this.store.set(p.key, p.data)
      for (const k of again.delete) this.store.delete(k)
    } else if (restore === 'pieces') this.restorePieces()
  }

  private restorePieces(): void {
    const pieces = [...this.store].map(([key, data]) => ({ key, data }))
    this.engine = createPartitionEngine(this.config, this.partition, {
      decode: testDecode,
      snapshot: pieces,
      retainLog: this.retainLog,
    })
  }

  /** Ends with a batch of no records that emits what is pending (the processor's flush), if anything is. */
  flush(): void {
    if (!this.engine.hasPendingOutput()) return
    const res = this.engine.process([])
    this.tables.apply(res)
    this.lastProvisional = true
    const changes = this.engine.snapshotChanges()
    for (const p of changes.put) this.store.set(p.key, p.data)
    for (const k of changes.delete) this.store.delete(k)
  }

  /**
   * Compares everything observable with the oracle over the records processed so far
   * (after a batch that did not emit provisional output: the final rows and verdicts only).
   */
  check(): void {
    const input = this.records.slice(0, this.pos)
    const want = oracle(this.config, this.partition, input, testDecode)
    const got = input.map((r) => this.verdicts.get(r.offset) ?? 'accepted')
    assert.deepEqual(got, want.verdicts, 'verdicts')
    assert.equal(this.engine.watermark(), want.watermark, 'watermark')
    assert.deepEqual(
      this.tables.finalRows(),
      want.rows.filter((r) => r.isFinal),
      'final rows',
    )
    if (!this.lastProvisional) return
    // Provisional rows are current for every window up to the newest record's window.
    const maxTs =
      want.watermark === null ? Number.NEGATIVE_INFINITY : want.watermark + this.config.watermarkMs
    const horizon = Math.floor(maxTs / this.config.windowMs) * this.config.windowMs
    assert.deepEqual(
      this.tables.allRows(),
      want.rows.filter((r) => r.windowStart <= horizon),
      'all rows up to the newest window',
    )
    // Every longer window is the oracle's row for a window of that length (docs/semantics.md section 8).
    for (const ms of this.config.rollupMs ?? []) {
      const longer = oracle({ ...this.config, windowMs: ms }, this.partition, input, testDecode)
      const got = this.tables.rollupRows(ms)
      assert.deepEqual(
        got.filter((r) => r.isFinal),
        longer.rows.filter((r) => r.isFinal),
        `final rows of the ${ms} ms windows`,
      )
      const h = Math.floor(maxTs / ms) * ms
      assert.deepEqual(
        got,
        longer.rows.filter((r) => r.windowStart <= h),
        `all rows of the ${ms} ms windows up to the newest one`,
      )
    }
    const states = [...this.tables.states.values()].sort((a, b) => (a.streamId < b.streamId ? -1 : 1))
    assert.deepEqual(states, want.states, 'state rows')
  }
}

function byKey(pieces: readonly { key: string; data: Buffer }[]): Map<string, Buffer> {
  return new Map(pieces.map((p) => [p.key, p.data]))
}
