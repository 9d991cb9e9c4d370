/**
 * Days of credit left, pure (docs/notifications.md, "Days of credit left"):
 *   dailyUseFen = (consumption charged in the last 7 days, fen) / 7
 *   days        = max(0, balanceFen / dailyUseFen), rounded down to 0.1 day
 * null when nothing was charged in the window (no estimate). No weekday adjustment.
 */
export const DAYS_LEFT_WINDOW_DAYS = 7;

export interface DaysLeft {
  readonly days: number | null;
  readonly dailyUseFen: number;
}

export function estimateDaysLeft(balanceFen: number, chargedInWindowFen: number): DaysLeft {
  const dailyUseFen = chargedInWindowFen / DAYS_LEFT_WINDOW_DAYS;
  if (dailyUseFen <= 0) return { days: null, dailyUseFen: 0 };
  return { days: Math.max(0, Math.floor((balanceFen / dailyUseFen) * 10) / 10), dailyUseFen: Math.round(dailyUseFen) };
}
