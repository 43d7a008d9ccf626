/**
 * A small binary writer/reader for snapshots: unsigned varints for counts and
 * lengths, float64 for times (they can be -Infinity), UTF-8 strings with a length.
 */
import { RtsaError } from '../errors/catalogue.ts'

export class Writer {
  private buf: Buffer
  private at = 0

  /** `size`: the expected length, to grow (copy) less often. */
  constructor(size = 256) {
    this.buf = Buffer.allocUnsafe(Math.max(size, 16))
  }

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n))
    this.buf.copy(next, 0, 0, this.at)
    this.buf = next
  }

  u8(v: number): void {
    this.room(1)
    this.buf[this.at++] = v
  }

  /** An unsigned integer up to 2^53 in 7-bit groups. */
  uint(v: number): void {
    this.room(8)
    while (v >= 0x80) {
      this.buf[this.at++] = (v % 0x80) | 0x80
      v = Math.floor(v / 0x80)
    }
    this.buf[this.at++] = v
  }

  f64(v: number): void {
    this.room(8)
    this.buf.writeDoubleLE(v, this.at)
    this.at += 8
  }

  /** Where the next byte goes (for a later patch). */
  get pos(): number {
    return this.at
  }

  /** An unsigned 32-bit integer, little-endian, 4 bytes. */
  u32(v: number): void {
    this.room(4)
    const buf = this.buf
    const at = this.at
    buf[at] = v & 0xff
    buf[at + 1] = (v >>> 8) & 0xff
    buf[at + 2] = (v >>> 16) & 0xff
    buf[at + 3] = v >>> 24
    this.at = at + 4
  }

  /** Overwrites the 8 bytes at `at` (written before) with a float64. */
  patchF64(at: number, v: number): void {
    this.buf.writeDoubleLE(v, at)
  }

  /** Overwrites the 4 bytes at `at` (written before) with an unsigned 32-bit integer. */
  patchU32(at: number, v: number): void {
    this.buf.writeUInt32LE(v, at)
  }

  i64(v: bigint): void {
    this.room(8)
    this.buf.writeBigInt64LE(v, this.at)
    this.at += 8
  }

  str(s: string): void {
    // ASCII (ids, usually) byte by byte: cheaper than two native calls for a short string.
    const len = s.length
    if (len < 0x80) {
      this.room(len + 1)
      const buf = this.buf
      const at = this.at
      let i = 0
      while (i < len) {
        const c = s.charCodeAt(i)
        if (c >= 0x80) break
        buf[at + 1 + i] = c
        i++
      }
      if (i === len) {
        buf[at] = len
        this.at = at + 1 + len
        return
      }
    }
    const n = Buffer.byteLength(s)
    this.uint(n)
    this.room(n)
    this.buf.write(s, this.at, 'utf8')
    this.at += n
  }

  bytes(b: Buffer): void {
    this.uint(b.length)
    this.room(b.length)
    b.copy(this.buf, this.at)
    this.at += b.length
  }

  done(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.at))
  }
}

export class Reader {
  private readonly buf: Buffer
  private pos = 0

  constructor(buf: Buffer) {
    this.buf = buf
  }

  get atEnd(): boolean {
    return this.pos >= this.buf.length
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) {
      throw new RtsaError('SNAPSHOT_INCOMPATIBLE', 'engine snapshot is truncated')
    }
  }

  u8(): number {
    this.need(1)
    return this.buf[this.pos++]!
  }

  uint(): number {
    let v = 0
    let scale = 1
    for (;;) {
      const b = this.u8()
      v += (b & 0x7f) * scale
      if (b < 0x80) return v
      scale *= 0x80
    }
  }

  f64(): number {
    this.need(8)
    const v = this.buf.readDoubleLE(this.pos)
    this.pos += 8
    return v
  }

  u32(): number {
    this.need(4)
    const v = this.buf.readUInt32LE(this.pos)
    this.pos += 4
    return v
  }

  i64(): bigint {
    this.need(8)
    const v = this.buf.readBigInt64LE(this.pos)
    this.pos += 8
    return v
  }

  str(): string {
    const n = this.uint()
    this.need(n)
    const s = this.buf.toString('utf8', this.pos, this.pos + n)
    this.pos += n
    return s
  }

  bytes(): Buffer {
    const n = this.uint()
    this.need(n)
    const b = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return b
  }
}
