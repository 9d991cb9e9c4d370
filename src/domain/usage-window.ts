import { maxPlausibleUsage, type PlausibilityLimits } from './register-billing.ts';

/**
 * What a meter may bill, judged in **server** time (issue 8: "base the plausibility limit on
 * server receive time"). measureRegister judges one reading against the time since the last
 * billed reading, as the gateway stamped it (bounded by sample-time.ts); that alone lets a
 * burst of frames each carry one slack's worth (1 kWh a frame, without limit), and lets a
 * gateway whose clock runs hours behind open a window of hours for one forged jump.
 *
 * The window holds the usage accepted since `since` (server time when the window opened). A
 * measurement is admitted only while everything accepted since then fits what the supply could
 * draw in that server time (30 kW x elapsed + slack, see register-billing.ts); once the window
 * is `USAGE_WINDOW_MS` old, the next admitted measurement starts a new one. A backlog after a
 * gateway outage still passes (no reading arrived, so the window is as old as the outage), a
 * burst or a lying clock is held like any implausible jump.
 */
export interface UsageWindow {
  readonly since: number;
  readonly used: number;
}

export const USAGE_WINDOW_MS = 15 * 60_000;

export type UsageAdmission = { readonly ok: true; readonly window: UsageWindow } | { readonly ok: false; readonly used: number; readonly maxPlausible: number; readonly sinceMs: number };

export function admitUsage(window: UsageWindow, usage: number, now: number, limits: PlausibilityLimits): UsageAdmission {
  const used = window.used + usage;
  const maxPlausible = maxPlausibleUsage(limits, window.since, now);
  if (used > maxPlausible) return { ok: false, used, maxPlausible, sinceMs: Math.max(0, now - window.since) };
  return { ok: true, window: now - window.since >= USAGE_WINDOW_MS ? { since: now, used: 0 } : { since: window.since, used } };
}
