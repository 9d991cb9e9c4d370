// An alarm in the reader's language, made on the client from its kind and structured fields
// (circuit, meter, gateway, rooms, evidence): the server's `message` is English for its logs and
// is never shown translated (public/locales/alarms.js). A kind this page does not know is shown
// by its code, humanised, with the server's message.
import { formatNumber, formatPower, getLocale, hasMessage, t } from './i18n.js';

/** Every kind the server raises (src/actors, src/domain/rules, src/domain/register-hold.ts, the ledger writer). */
export const ALARM_KINDS = ['malignant_load', 'overload', 'low_current', 'ac_standby', 'tamper', 'lockout', 'lights_off', 'holiday', 'gateway_offline', 'register_jump', 'register_backwards', 'tariff_invalid', 'ledger_dead_letter', 'command_failed'];

/** A human title for an alarm kind: the dictionary's, else the code made readable. */
export function alarmTitle(/** @type {string} */ kind) {
  const key = `alarm.kind.${kind}`;
  if (hasMessage(key)) return t(key);
  const words = String(kind || 'alarm').replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The circuit an alarm is about, in words ("Sockets", "The room"). */
function circuitName(/** @type {string | null | undefined} */ circuit) {
  if (!circuit || circuit === 'all' || circuit === 'main') return t('alarm.circuit.all');
  return hasMessage(`circuit.${circuit}`) ? t(`circuit.${circuit}`) : t('alarm.circuit.unknown');
}

/** @param {unknown} item @returns {Record<string, unknown>} */
const record = (item) => (typeof item === 'object' && item !== null ? /** @type {Record<string, unknown>} */ (item) : {});
const num = (/** @type {unknown} */ value) => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);

/** What the evidence measured, in words: the peak of power samples, or a held register. */
function evidenceText(/** @type {any} */ alarm) {
  const items = Array.isArray(alarm.evidence) ? alarm.evidence.map(record) : [];
  const samples = items.filter((e) => num(e.powerW) !== undefined);
  if (samples.length > 0) {
    const peak = samples.reduce((best, e) => (Number(e.powerW) > Number(best.powerW) ? e : best));
    const pf = num(peak.powerFactor);
    return t('alarm.evidence.power', { power: formatPower(Number(peak.powerW)), pf: pf === undefined ? '–' : formatNumber(Math.abs(pf), { maximumFractionDigits: 2 }) });
  }
  const held = items.find((e) => num(e.register) !== undefined);
  if (held) return t('alarm.evidence.register', { register: formatNumber(Number(held.register)), billed: num(held.billed) === undefined ? '–' : formatNumber(Number(held.billed)) });
  return '';
}

/**
 * The alarm's sentence in the current locale.
 * @param {{ kind: string, message?: string, circuit?: string | null, meterId?: string | null, gatewayId?: string | null, rooms?: string[], evidence?: unknown[] }} alarm
 */
export function alarmMessage(alarm) {
  const key = `alarm.message.${alarm.kind}`;
  if (!hasMessage(key)) return alarm.message || '';
  const first = record(Array.isArray(alarm.evidence) ? alarm.evidence[0] : undefined);
  const item = typeof first.kind === 'string' ? (hasMessage(`ledger.${first.kind}`) ? t(`ledger.${first.kind}`) : first.kind) : '–';
  const sentence = t(key, {
    circuit: circuitName(alarm.circuit),
    meter: alarm.meterId || '–',
    gateway: alarm.gatewayId || '–',
    rooms: formatNumber(Array.isArray(alarm.rooms) ? alarm.rooms.length : 0),
    item,
    id: num(first.deadLetterId) === undefined ? '–' : String(first.deadLetterId),
  });
  const evidence = evidenceText(alarm);
  // Chinese sentences follow each other without a space.
  return evidence ? `${sentence}${getLocale() === 'zh-CN' ? '' : ' '}${evidence}` : sentence;
}
