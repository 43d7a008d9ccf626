/**
 * The knobs of the audience model and how it sizes the audience for a target rate
 * (see model.ts for the model itself).
 */

/** Knobs of the audience model; every one has a realistic default. */
export interface ModelTuning {
  readonly zipfExponent: number
  readonly sessionMedianSec: number
  readonly sessionSigma: number
  readonly heartbeatMinSec: number
  readonly heartbeatMaxSec: number
  /** Share of viewers who chat at all. */
  readonly chatterShare: number
  /** Chat messages per viewer per minute, averaged over all viewers. */
  readonly chatPerViewerPerMin: number
  readonly donationsPerViewerPerHour: number
  /** Share of sessions that end without a `viewer_leave`. */
  readonly silentLeaveShare: number
  readonly liveMedianMin: number
  readonly offlineMedianMin: number
  readonly streamSigma: number
  /** Largest share of users watching at once that the plan aims for. */
  readonly maxOccupancy: number
}

export const DEFAULT_TUNING: ModelTuning = {
  zipfExponent: 1.1,
  sessionMedianSec: 360,
  sessionSigma: 1,
  heartbeatMinSec: 30,
  heartbeatMaxSec: 60,
  chatterShare: 0.3,
  chatPerViewerPerMin: 0.45,
  donationsPerViewerPerHour: 1,
  silentLeaveShare: 0.15,
  liveMedianMin: 90,
  offlineMedianMin: 15,
  streamSigma: 0.7,
  maxOccupancy: 0.7,
}

/** How the model reaches the target rate (for tests, logs and docs). */
export interface ModelPlan {
  /** Concurrent viewers aimed for, over all streams. */
  readonly audience: number
  /** Multiplier of per-viewer heartbeat, chat and donation rates (1 = realistic). */
  readonly activity: number
  /** Viewer arrivals per second, over all live streams. */
  readonly arrivalsPerSec: number
  readonly sessionMeanSec: number
  readonly heartbeatMeanSec: number
  /** Expected events per second once warm. */
  readonly expectedEventsPerSec: number
}

/**
 * Sizes the audience for a target rate. Per viewer and second, at activity 1, a viewer
 * sends e0 = heartbeats + chat + donations + (join + leave) / session events. The
 * audience is A = rate / e0 (Little's law gives arrivals = A / session mean), unless
 * that exceeds `maxOccupancy * userCount`: then A is capped and the activity factor
 * scales heartbeats, chat and donations so that the total still meets the rate.
 */
export function planModel(
  options: { readonly eventsPerSec: number; readonly userCount: number },
  t: ModelTuning,
): ModelPlan {
  const sessionMeanSec = t.sessionMedianSec * Math.exp((t.sessionSigma * t.sessionSigma) / 2)
  const heartbeatMeanSec = (t.heartbeatMinSec + t.heartbeatMaxSec) / 2
  const activityRate = 1 / heartbeatMeanSec + t.chatPerViewerPerMin / 60 + t.donationsPerViewerPerHour / 3600
  const sessionRate = (2 - t.silentLeaveShare) / sessionMeanSec
  const wanted = options.eventsPerSec / (activityRate + sessionRate)
  const cap = Math.max(1, Math.floor(t.maxOccupancy * options.userCount))
  const audience = Math.min(wanted, cap)
  const activity =
    audience < wanted ? (options.eventsPerSec - audience * sessionRate) / (audience * activityRate) : 1
  return {
    audience,
    activity,
    arrivalsPerSec: audience / sessionMeanSec,
    sessionMeanSec,
    heartbeatMeanSec: heartbeatMeanSec / activity,
    expectedEventsPerSec: audience * (activityRate * activity + sessionRate),
  }
}
