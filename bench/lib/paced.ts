/**
 * An open-loop load at a fixed rate: one request every 1000/rate ms on a schedule that
 * does not wait for responses, each latency measured from its scheduled time (so a
 * stalled server is charged for the requests queued behind it, unlike a closed loop).
 * autocannon's overallRate sends each second's quota in a burst at the start of the
 * second, which measures queueing behind the burst instead: both are reported.
 */
import http from 'node:http'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { latencySummary } from './stats.ts'

export interface PacedResult {
  readonly requestsPerSec: number
  readonly sent: number
  readonly ok: number
  readonly failed: number
  /** Not sent because `maxInFlight` requests were already outstanding. */
  readonly shed: number
  readonly p50: number
  readonly p99: number
  readonly max: number
  readonly bytes: number
}

export async function paced(
  url: string,
  rate: number,
  seconds: number,
  maxInFlight = 256,
): Promise<PacedResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 })
  const latencies: number[] = []
  let sent = 0
  let ok = 0
  let failed = 0
  let shed = 0
  let bytes = 0
  let inFlight = 0
  let okInWindow = 0
  const start = performance.now()
  const end = start + seconds * 1000
  const interval = 1000 / rate
  const send = (scheduledAt: number) => {
    inFlight++
    sent++
    const req = http.get(url, { agent }, (res) => {
      res.on('data', (d: Buffer) => {
        bytes += d.length
      })
      res.on('end', () => {
        inFlight--
        const at = performance.now()
        if (res.statusCode === 200) {
          ok++
          if (at <= end) okInWindow++
          latencies.push(at - scheduledAt)
        } else failed++
      })
    })
    req.on('error', () => {
      inFlight--
      failed++
    })
  }
  let next = 0
  while (performance.now() < end) {
    const now = performance.now()
    while (start + next * interval <= now) {
      if (inFlight >= maxInFlight) shed++
      else send(start + next * interval)
      next++
    }
    await sleep(1)
  }
  const drain = Date.now() + 60_000
  while (inFlight > 0 && Date.now() < drain) await sleep(10)
  agent.destroy()
  const s = latencySummary(latencies)
  return {
    requestsPerSec: okInWindow / seconds,
    sent,
    ok,
    failed,
    shed,
    p50: s.p50,
    p99: s.p99,
    max: s.max,
    bytes: ok > 0 ? bytes / ok : 0,
  }
}

/** Waits until `url` answers 200 within 100 ms (the server has drained a previous load). */
export async function settle(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const t0 = performance.now()
    const status = await new Promise<number>((done) => {
      http
        .get(url, (res) => {
          res.resume()
          res.on('end', () => done(res.statusCode ?? 0))
        })
        .on('error', () => done(0))
    })
    if (status === 200 && performance.now() - t0 < 100) return
    await sleep(200)
  }
}
