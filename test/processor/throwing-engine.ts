/**
 * A wrap module for engine threads (WorkerSettings.wrapModule): the real engine, except
 * that a record whose value contains `THROW` makes `process` throw (a bug nobody has found
 * yet, injected), and one containing `EXIT` ends the thread.
 */
import { poisonous } from './poison.ts'

export const wrap = poisonous(
  (r) => /THROW|EXIT/.test(r.value.toString()),
  (r) => {
    if (r.value.toString().includes('EXIT')) process.exit(3)
    return new TypeError(`injected bug at offset ${r.offset}`)
  },
)
