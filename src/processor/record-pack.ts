/**
 * A batch of one partition's records as one ArrayBuffer, to hand to an engine thread as a
 * transferable (moved, not copied, by postMessage). Packing copies each key and value
 * once, out of the Kafka client's fetch buffers (which it still uses); the thread reads
 * them as Buffer views of the packed bytes, with no further copy.
 *
 *   count (u32), then per record: offset (i64), timestamp (f64), key length (i32, -1: no
 *   key), value length (u32); then every record's key and value bytes, in order
 */
import type { InputRecord } from '../engine/types.ts'
import { RtsaError } from '../errors/catalogue.ts'

const HEAD = 8
const META = 24

/** Records of one partition, packed; `buffer` is transferable. */
export interface PackedRecords {
  readonly partition: number
  readonly buffer: ArrayBuffer
}

export function packRecords(partition: number, records: readonly InputRecord[]): PackedRecords {
  const n = records.length
  let bytes = 0
  for (const r of records) bytes += (r.key?.length ?? 0) + r.value.length
  const buffer = new ArrayBuffer(HEAD + n * META + bytes)
  const view = new DataView(buffer)
  const out = new Uint8Array(buffer)
  view.setUint32(0, n, true)
  let meta = HEAD
  let at = HEAD + n * META
  for (const r of records) {
    if (r.partition !== partition)
      throw new RtsaError('INTERNAL', `record of partition ${r.partition} packed for ${partition}`)
    view.setBigInt64(meta, r.offset, true)
    view.setFloat64(meta + 8, r.timestamp, true)
    view.setInt32(meta + 16, r.key === null ? -1 : r.key.length, true)
    view.setUint32(meta + 20, r.value.length, true)
    meta += META
    if (r.key !== null) {
      out.set(r.key, at)
      at += r.key.length
    }
    out.set(r.value, at)
    at += r.value.length
  }
  return { partition, buffer }
}

/**
 * The records of a pack, as Buffer views of its bytes. A pack that does not add up (a bug:
 * packs come only from packRecords) is INTERNAL, never a read past its end.
 */
export function unpackRecords(p: PackedRecords): InputRecord[] {
  const { buffer, partition } = p
  const view = new DataView(buffer)
  const bad = (why: string) => new RtsaError('INTERNAL', `malformed record pack: ${why}`)
  if (buffer.byteLength < HEAD) throw bad('shorter than its header')
  const n = view.getUint32(0, true)
  if (HEAD + n * META > buffer.byteLength) throw bad(`${n} records do not fit`)
  const records: InputRecord[] = new Array(n)
  let meta = HEAD
  let at = HEAD + n * META
  for (let i = 0; i < n; i++) {
    const offset = view.getBigInt64(meta, true)
    const timestamp = view.getFloat64(meta + 8, true)
    const keyLen = view.getInt32(meta + 16, true)
    const valueLen = view.getUint32(meta + 20, true)
    meta += META
    if (keyLen < -1 || at + Math.max(0, keyLen) + valueLen > buffer.byteLength)
      throw bad(`record ${i} overruns`)
    let key: Buffer | null = null
    if (keyLen >= 0) {
      key = Buffer.from(buffer, at, keyLen)
      at += keyLen
    }
    const value = Buffer.from(buffer, at, valueLen)
    at += valueLen
    records[i] = { partition, offset, key, value, timestamp }
  }
  if (at !== buffer.byteLength) throw bad('bytes left over')
  return records
}
