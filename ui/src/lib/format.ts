// Small presentation helpers: how long something has run, how a number reads in the window's language.
import { language, t } from './i18n/index.svelte';

/** "3 dk 12 sn" / "3m 12s": two units, the largest first; never negative. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(total / 86400);
  const h = Math.floor((total % 86400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (d > 0) return t('duration.days', { d, h });
  if (h > 0) return t('duration.hours', { h, m });
  if (m > 0) return t('duration.minutes', { m, s });
  return t('duration.seconds', { s });
}

/** A number as the window's language writes it ("0,4" in Turkish), with at most `digits` decimals. */
export function formatNumber(value: number, digits = 0): string {
  try {
    return new Intl.NumberFormat(language(), { maximumFractionDigits: digits }).format(value);
  } catch {
    return String(Math.round(value * 10 ** digits) / 10 ** digits);
  }
}

/** An uptime as a card shows it: seconds only in the first minute ("42 sn"), then minutes ("3 dk"),
 * so a running card changes once a minute rather than every second (each repaint costs CPU). */
export function formatUptime(ms: number): string {
  if (ms >= 60_000 && ms < 3_600_000) return t('duration.minutesOnly', { m: Math.floor(ms / 60_000) });
  return formatDuration(ms);
}

/** Milliseconds until the first of these uptimes shows a different text. */
export function nextUptimeChange(uptimes: number[]): number {
  if (uptimes.length === 0) return 60_000;
  const waits = uptimes.map((ms) => (ms < 60_000 ? 1000 - (Math.max(ms, 0) % 1000) : 60_000 - (ms % 60_000)));
  return Math.max(50, Math.min(...waits));
}

/** A size as the window shows it: "912 KiB", "8,1 MiB", "1,2 GiB". */
export function formatBytes(bytes: number): string {
  const b = Math.max(0, bytes);
  if (b < 1024 * 1024) return `${formatNumber(Math.ceil(b / 1024))} KiB`;
  if (b < 1024 ** 3) return `${formatNumber(b / 1024 ** 2, 1)} MiB`;
  return `${formatNumber(b / 1024 ** 3, 1)} GiB`;
}
