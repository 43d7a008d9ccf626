/**
 * Event ids as the engine keeps them. Almost every id is a UUID; kept as a string it
 * is a 56-byte heap object per pending record that the garbage collector copies and
 * marks. A canonical one (36 characters, lowercase hex, dashes at 8, 13, 18 and 23) is
 * packed into four unsigned 32-bit words instead, stored inline in typed arrays.
 * Any other id stays a string.
 *
 * Packing keeps the spec's order: for two canonical UUIDs, plain string comparison
 * equals the comparison of their words in order (hex digits and dashes sit at the same
 * places, and '0'..'9' < 'a'..'f'). Equality is exact: a packed id equals only the
 * same canonical string, and a canonical string is always packed.
 */

/** Nibble of a char code, or -1 for anything but 0-9 and a-f. */
const NIBBLE = new Int8Array(128).fill(-1)
for (let c = 0; c < 10; c++) NIBBLE[48 + c] = c
for (let c = 0; c < 6; c++) NIBBLE[97 + c] = 10 + c

/**
 * Packs `id` into `out[at..at+4)` when it is a canonical lowercase UUID; returns
 * false (and leaves garbage in `out`) otherwise.
 */
export function packId(id: string, out: Uint32Array, at: number): boolean {
  if (id.length !== 36) return false
  if (
    id.charCodeAt(8) !== 45 ||
    id.charCodeAt(13) !== 45 ||
    id.charCodeAt(18) !== 45 ||
    id.charCodeAt(23) !== 45
  )
    return false
  let word = 0
  let digits = 0
  let w = at
  for (let i = 0; i < 36; i++) {
    if (i === 8 || i === 13 || i === 18 || i === 23) continue
    const c = id.charCodeAt(i)
    const v = c < 128 ? NIBBLE[c]! : -1
    if (v < 0) return false
    word = (word << 4) | v
    if (++digits === 8) {
      out[w++] = word >>> 0
      word = 0
      digits = 0
    }
  }
  return true
}

const HEX = new TextEncoder().encode('0123456789abcdef')
/** Where {@link unpackId} writes the id: one flat string from one native call, not 36 concatenations. */
const scratch = Buffer.alloc(36, 45) // '-' at 8, 13, 18 and 23 stay

/** The canonical string of a packed id (the inverse of {@link packId}). */
export function unpackId(words: Uint32Array, at: number): string {
  let p = 0
  for (let k = 0; k < 4; k++) {
    const x = words[at + k]!
    for (let sh = 28; sh >= 0; sh -= 4) {
      if (p === 8 || p === 13 || p === 18 || p === 23) p++
      scratch[p++] = HEX[(x >>> sh) & 15]!
    }
  }
  return scratch.toString('latin1', 0, 36)
}

/** A 32-bit hash of a packed id, never 0 (0 marks an empty slot in the tables that use it). */
export function hashWords(words: Uint32Array, at: number): number {
  let h = Math.imul(words[at]! ^ 0x9e3779b9, 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13) ^ words[at + 1]!, 0xc2b2ae35)
  h = Math.imul(h ^ (h >>> 16) ^ words[at + 2]!, 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13) ^ words[at + 3]!, 0xc2b2ae35)
  h ^= h >>> 16
  return h === 0 ? 1 : h
}

/** An event id with its packed form, computed once per record and shared by the tables that store it. */
export class EventKey {
  id = ''
  /** Whether `words` holds the id (a canonical UUID). */
  packed = false
  readonly words = new Uint32Array(4)

  set(id: string): this {
    this.id = id
    this.packed = packId(id, this.words, 0)
    return this
  }

  /** Sets a canonical UUID `id` whose packed form is known (`words`, as {@link packId} writes them). */
  setPacked(id: string, words: Uint32Array): this {
    this.id = id
    this.packed = true
    this.words.set(words)
    return this
  }
}
