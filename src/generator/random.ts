/**
 * A small seeded PRNG (sfc32, 128-bit state) and the distributions the event model
 * needs. Deterministic across runs and machines for the same seed: no Math.random,
 * no clock. sfc32 passes PractRand/BigCrush, is fast in JS (32-bit integer ops only)
 * and has no known bad seeds once warmed up.
 */

/** A string or number seed -> four 32-bit words, through the cyrb128 string hash. */
function seedWords(seed: string | number): [number, number, number, number] {
  const str = String(seed)
  let h1 = 1779033703
  let h2 = 3144134277
  let h3 = 1013904242
  let h4 = 2773480762
  for (let i = 0; i < str.length; i++) {
    const k = str.charCodeAt(i)
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067)
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233)
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213)
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179)
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067)
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233)
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213)
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179)
  h1 ^= h2 ^ h3 ^ h4
  h2 ^= h1
  h3 ^= h1
  h4 ^= h1
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0]
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

function hex32(x: number): string {
  return HEX[(x >>> 24) & 255]! + HEX[(x >>> 16) & 255]! + HEX[(x >>> 8) & 255]! + HEX[x & 255]!
}

/** A seeded random source. Every method advances the state; same seed, same calls -> same results. */
export class Random {
  #a: number
  #b: number
  #c: number
  #d: number

  /** `seed` may be any string or number; derived streams use `seed + '/' + name`. */
  constructor(seed: string | number) {
    ;[this.#a, this.#b, this.#c, this.#d] = seedWords(seed)
    // Warm up so that similar seeds diverge.
    for (let i = 0; i < 15; i++) this.uint32()
  }

  /** A uniform 32-bit unsigned integer. */
  uint32(): number {
    const a = this.#a
    const b = this.#b
    const c = this.#c
    const d = this.#d
    const t = (((a + b) | 0) + d) | 0
    this.#d = (d + 1) | 0
    this.#a = b ^ (b >>> 9)
    this.#b = (c + (c << 3)) | 0
    const r = (c << 21) | (c >>> 11)
    this.#c = (r + t) | 0
    return t >>> 0
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.uint32() / 4294967296
  }

  /** Uniform in (0, 1]: safe for Math.log. */
  nextOpen(): number {
    return (this.uint32() + 1) / 4294967296
  }

  /** Uniform integer in [0, n), n >= 1. */
  int(n: number): number {
    return Math.floor(this.next() * n)
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next()
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return p > 0 && this.next() < p
  }

  /** Exponential with the given mean (the gap between events of a Poisson process). */
  exponential(mean: number): number {
    return -Math.log(this.nextOpen()) * mean
  }

  /** Standard normal (Box-Muller; one value per call, for simplicity over speed). */
  normal(): number {
    return Math.sqrt(-2 * Math.log(this.nextOpen())) * Math.cos(2 * Math.PI * this.next())
  }

  /** Log-normal with the given median and shape sigma (mean = median * exp(sigma^2 / 2)). */
  logNormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal())
  }

  /** A UUID-v4-shaped string from the generator (not cryptographic, but deterministic). */
  uuid(): string {
    const a = this.uint32()
    const b = (this.uint32() & 0xffff0fff) | 0x00004000 // version 4
    const c = (this.uint32() & 0x3fffffff) | 0x80000000 // RFC 4122 variant
    const d = this.uint32()
    const hb = hex32(b)
    const hc = hex32(c)
    return `${hex32(a)}-${hb.slice(0, 4)}-${hb.slice(4)}-${hc.slice(0, 4)}-${hc.slice(4)}${hex32(d)}`
  }
}
