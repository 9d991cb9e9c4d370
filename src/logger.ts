import pino, { type DestinationStream, type Logger } from 'pino';
import type { Config } from './config.ts';

const REDACTED = '[REDACTED]';
/** `scheme://user:password@host`: the user-info part of any URL (MQTT_URL, DATABASE_URL, ...). */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'\\]+@/gi;
/** `?token=...` and its kin in any URL or query string (the WebSocket takes `?token=`). */
const SECRET_PARAMETERS = /([?&](?:token|access_token|password|secret)=)[^&\s"'#\\]*/gi;

/**
 * A log line with secrets blanked: URL credentials, token-like query parameters, and the
 * configured secret values themselves, raw or JSON-escaped. Applied to the finished line, so
 * messages, bound fields, request URLs and error stacks are all covered, at every level.
 */
export function redactSecrets(line: string, secrets: readonly string[] = []): string {
  let out = line.replace(URL_CREDENTIALS, `$1${REDACTED}@`).replace(SECRET_PARAMETERS, `$1${REDACTED}`);
  for (const secret of secrets) {
    for (const form of new Set([secret, JSON.stringify(secret).slice(1, -1)])) out = out.split(form).join(REDACTED);
  }
  return out;
}

/** `mqtt://user:secret@host` -> `mqtt://[REDACTED]@host`, for a URL shown anywhere. */
export const redactUrl = (url: string): string => redactSecrets(url);

type LoggerConfig = Pick<Config, 'logLevel'> & Partial<Pick<Config, 'adminPassword' | 'webhookSecret' | 'metricsToken' | 'paymentProviders'>>;

/**
 * The process logger. Structured secret fields (authorization headers, passwords, tokens) are
 * censored by path; every line is then scrubbed of URL credentials, `token=` parameters and the
 * configured secrets before it reaches the destination (stdout unless a test passes one).
 */
export function createLogger(config: LoggerConfig, destination: DestinationStream = pino.destination({ dest: 1, sync: true })): Logger {
  const secrets = [config.adminPassword, config.webhookSecret, config.metricsToken, ...(config.paymentProviders ?? []).map((p) => p.secret)].filter((s): s is string => typeof s === 'string' && s.length >= 8);
  const scrubbed: DestinationStream = { write: (line: string) => destination.write(redactSecrets(line, secrets)) };
  return pino(
    {
      level: config.logLevel,
      base: { service: 'campus-prepaid' },
      redact: {
        paths: ['req.headers.authorization', 'headers.authorization', 'authorization', 'password', '*.password', 'token', '*.token', 'secret', '*.secret'],
        censor: REDACTED,
      },
    },
    scrubbed,
  );
}
