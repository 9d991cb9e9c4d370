import { randomBytes } from 'node:crypto';

/**
 * Configuration, read once from the environment, checked, frozen and typed. `process.env` is
 * read here and nowhere else; a bad value stops start-up with a message naming the variable.
 */
export interface Config {
  readonly port: number;
  readonly host: string;
  /** PostgreSQL URL; unset means embedded PGlite in `dataDir`. */
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  /** External MQTT broker; unset means an embedded broker on an ephemeral port. */
  readonly mqttUrl: string | undefined;
  /** First topic level of every MQTT topic (docs/mqtt.md). */
  readonly mqttTopicPrefix: string;
  readonly adminPassword: string | undefined;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  readonly sessionTtlHours: number;
  /** HMAC secret that payment providers sign webhooks with. */
  readonly webhookSecret: string;
  readonly webhookSecretGenerated: boolean;
  /**
   * The enabled payment providers (PAYMENT_PROVIDERS), each with its webhook secret:
   * WEBHOOK_SECRET_<NAME>, else WEBHOOK_SECRET. An enabled provider without a configured secret
   * stops start-up (a generated secret would change at every restart).
   */
  readonly paymentProviders: readonly PaymentProviderConfig[];
  /** A notification signed further than this from the server's time is refused. */
  readonly webhookToleranceSeconds: number;
  /**
   * The pending-payment job (docs/payments.md): a payment pending longer than this many minutes
   * is queried at its provider (0: the job is off); one pass every `paymentQueryIntervalSeconds`
   * asks about at most `paymentQueryBatch` payments.
   */
  readonly paymentQueryAfterMinutes: number;
  readonly paymentQueryIntervalSeconds: number;
  readonly paymentQueryBatch: number;
  readonly nodeId: string;
  readonly pollIntervalMs: number;
  /** Run the simulated demo campus in-process. */
  readonly simulate: boolean;
  readonly simulatorSpeed: number;
  readonly ledgerFlushMs: number;
  readonly ledgerBatchSize: number;
  /** Wall time between the live feed's flushes: a dormitory's change reaches the displays at most this late (plus the network). */
  readonly liveFlushMs: number;
  /** How long an HTTP request waits for an actor's answer before it gets 503 ACTOR_BUSY with Retry-After. */
  readonly actorQueryTimeoutMs: number;
  /** Clock time between ledger postings of one meter's consumption. */
  readonly billingPostIntervalMs: number;
  /** scrypt cost of new password hashes, as log2(N) (OWASP: 17, with r=8, p=1). */
  readonly passwordScryptLog2N: number;
  /** Login attempts allowed per client address, and per username, in one window. */
  readonly loginRateLimitPerAddress: number;
  readonly loginRateLimitPerUsername: number;
  readonly loginRateWindowMs: number;
  /** A recharge above this many fen waits for a second finance user's approval. */
  readonly rechargeApprovalThresholdFen: number;
  /** A refund or adjustment whose absolute amount is above this many fen waits for a second finance user. */
  readonly refundApprovalThresholdFen: number;
  /** Bearer token that GET /api/metrics requires, when set. */
  readonly metricsToken: string | undefined;
  /** When set, metrics are served only on this separate port (at /metrics), not on the API port. */
  readonly metricsPort: number | undefined;
  readonly metricsHost: string;
  /** Largest Excel batch upload accepted (larger: 413). */
  readonly importMaxBytes: number;
  /** Most data rows in one Excel batch (more: 400). */
  readonly importMaxRows: number;
  /** Notifications (docs/notifications.md): webhook URL (off when unset) and its HMAC secret. */
  readonly notifyWebhookUrl: string | undefined;
  readonly notifyWebhookSecret: string | undefined;
  /** E-mail (docs/notifications.md): `smtp://` or `smtps://` URL, credentials in it (off when unset), and the From address. */
  readonly notifySmtpUrl: string | undefined;
  readonly notifyEmailFrom: string | undefined;
  /** 'sandbox' logs SMS instead of sending them; 'off' (default) has no SMS channel. */
  readonly notifySms: 'off' | 'sandbox';
  /** Campus local quiet hours, "22:00-07:00" (default) or "off". */
  readonly notifyQuietHours: string;
  /** Most notifications delivered to one recipient per hour (more wait). */
  readonly notifyThrottlePerHour: number;
  readonly notifyPollMs: number;
  /** "About N days left" is announced when a purse's estimate falls below this many days. */
  readonly daysLeftAlertDays: number;
}

export const PAYMENT_PROVIDER_NAMES = ['sandbox', 'wechat'] as const;
export type PaymentProviderName = (typeof PAYMENT_PROVIDER_NAMES)[number];

export interface PaymentProviderConfig {
  readonly name: PaymentProviderName;
  readonly secret: string;
  /** WeChat Pay: the merchant id (WECHAT_MCHID) and the merchant API's base URL (WECHAT_API_URL). */
  readonly merchantId?: string;
  readonly apiBaseUrl?: string;
}

function paymentProviders(env: Env, sharedSecret: string | undefined): PaymentProviderConfig[] {
  const names = (env.PAYMENT_PROVIDERS ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  return [...new Set(names)].map((name) => {
    if (!(PAYMENT_PROVIDER_NAMES as readonly string[]).includes(name)) throw new ConfigError('PAYMENT_PROVIDERS', `unknown provider "${name}" (known: ${PAYMENT_PROVIDER_NAMES.join(', ')})`);
    const variable = `WEBHOOK_SECRET_${name.toUpperCase()}`;
    const secret = env[variable] || sharedSecret;
    if (secret === undefined) throw new ConfigError(variable, `payment provider ${name} is enabled: set ${variable} or WEBHOOK_SECRET (a stable secret, at least 16 characters)`);
    if (secret.length < 16) throw new ConfigError(variable, 'must be at least 16 characters');
    if (name === 'wechat') {
      const merchantId = env.WECHAT_MCHID ?? '';
      if (!/^[0-9A-Za-z_-]{1,32}$/.test(merchantId)) throw new ConfigError('WECHAT_MCHID', 'payment provider wechat is enabled: set the merchant id (mchid) its API calls name');
      return { name: 'wechat', secret, merchantId, apiBaseUrl: url(env, 'WECHAT_API_URL', ['https:', 'http:']) ?? 'https://api.mch.weixin.qq.com' };
    }
    return { name: name as PaymentProviderName, secret };
  });
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^-?\d+$/.test(raw)) throw new ConfigError(name, `must be an integer, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())) return true;
  if (['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false;
  throw new ConfigError(name, `must be true or false, got "${raw}"`);
}

function url(env: Env, name: string, protocols: readonly string[]): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, `is not a URL`);
  }
  if (!protocols.includes(parsed.protocol)) throw new ConfigError(name, `must use ${protocols.join(' or ')}`);
  return raw;
}

/** The From address, required with NOTIFY_SMTP_URL: `name@host` or `Display Name <name@host>`. */
function emailFrom(env: Env): string | undefined {
  const from = env.NOTIFY_EMAIL_FROM || undefined;
  if (env.NOTIFY_SMTP_URL && from === undefined) throw new ConfigError('NOTIFY_EMAIL_FROM', 'is required with NOTIFY_SMTP_URL');
  if (from !== undefined && !/^([^<>\r\n]*<)?[^\s@<>]+@[^\s@<>]+>?$/.test(from)) throw new ConfigError('NOTIFY_EMAIL_FROM', 'must be an e-mail address (name@host or "Name <name@host>")');
  return from;
}

function topicPrefix(env: Env): string {
  const raw = env.MQTT_TOPIC_PREFIX || 'campus';
  if (!/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/.test(raw)) throw new ConfigError('MQTT_TOPIC_PREFIX', 'may contain only letters, digits, _ and - (levels separated by /)');
  return raw;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function loadConfig(env: Env, overrides: Partial<Config> = {}): Config {
  const logLevel = env.LOG_LEVEL ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}`);
  }
  const adminPassword = env.ADMIN_PASSWORD || undefined;
  if (adminPassword !== undefined && adminPassword.length < 8) {
    throw new ConfigError('ADMIN_PASSWORD', 'must be at least 8 characters');
  }
  const webhookSecret = env.WEBHOOK_SECRET || undefined;
  if (webhookSecret !== undefined && webhookSecret.length < 16) {
    throw new ConfigError('WEBHOOK_SECRET', 'must be at least 16 characters');
  }
  const metricsToken = env.METRICS_TOKEN || undefined;
  if (metricsToken !== undefined && metricsToken.length < 16) {
    throw new ConfigError('METRICS_TOKEN', 'must be at least 16 characters');
  }
  const config: Config = {
    port: integer(env, 'PORT', 3000, 0, 65535),
    host: env.HOST || '0.0.0.0',
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    dataDir: env.DATA_DIR || './data',
    mqttUrl: url(env, 'MQTT_URL', ['mqtt:', 'mqtts:', 'tcp:', 'ws:', 'wss:']),
    mqttTopicPrefix: topicPrefix(env),
    adminPassword,
    logLevel: logLevel as Config['logLevel'],
    sessionTtlHours: integer(env, 'SESSION_TTL_HOURS', 12, 1, 24 * 90),
    webhookSecret: webhookSecret ?? randomBytes(24).toString('hex'),
    webhookSecretGenerated: webhookSecret === undefined,
    paymentProviders: paymentProviders(env, webhookSecret),
    webhookToleranceSeconds: integer(env, 'WEBHOOK_TOLERANCE_SECONDS', 300, 1, 86_400),
    paymentQueryAfterMinutes: integer(env, 'PAYMENT_QUERY_AFTER_MINUTES', 5, 0, 1440),
    paymentQueryIntervalSeconds: integer(env, 'PAYMENT_QUERY_INTERVAL_SECONDS', 60, 1, 86_400),
    paymentQueryBatch: integer(env, 'PAYMENT_QUERY_BATCH', 50, 1, 10_000),
    nodeId: env.NODE_ID || `node-${randomBytes(4).toString('hex')}`,
    pollIntervalMs: integer(env, 'POLL_INTERVAL_MS', 1000, 50, 3_600_000),
    simulate: bool(env, 'SIMULATE', false),
    simulatorSpeed: integer(env, 'SIMULATOR_SPEED', 1, 0, 3600),
    ledgerFlushMs: integer(env, 'LEDGER_FLUSH_MS', 200, 1, 60_000),
    liveFlushMs: integer(env, 'LIVE_FLUSH_MS', 100, 10, 10_000),
    ledgerBatchSize: integer(env, 'LEDGER_BATCH_SIZE', 500, 1, 100_000),
    actorQueryTimeoutMs: integer(env, 'ACTOR_QUERY_TIMEOUT_MS', 2000, 1, 120_000),
    billingPostIntervalMs: integer(env, 'BILLING_POST_INTERVAL_MS', 60_000, 0, 86_400_000),
    passwordScryptLog2N: integer(env, 'PASSWORD_SCRYPT_LOG2N', 17, 10, 20),
    loginRateLimitPerAddress: integer(env, 'LOGIN_RATE_LIMIT_PER_ADDRESS', 20, 1, 1_000_000),
    loginRateLimitPerUsername: integer(env, 'LOGIN_RATE_LIMIT_PER_USERNAME', 10, 1, 1_000_000),
    loginRateWindowMs: integer(env, 'LOGIN_RATE_WINDOW_MS', 60_000, 1000, 86_400_000),
    rechargeApprovalThresholdFen: integer(env, 'RECHARGE_APPROVAL_THRESHOLD_FEN', 200_000, 1, 100_000_000),
    refundApprovalThresholdFen: integer(env, 'REFUND_APPROVAL_THRESHOLD_FEN', 50_000, 1, 100_000_000),
    metricsToken,
    metricsPort: env.METRICS_PORT ? integer(env, 'METRICS_PORT', 0, 0, 65535) : undefined,
    metricsHost: env.METRICS_HOST || '127.0.0.1',
    importMaxBytes: integer(env, 'IMPORT_MAX_BYTES', 10_485_760, 1024, 104_857_600),
    importMaxRows: integer(env, 'IMPORT_MAX_ROWS', 20_000, 1, 200_000),
    notifyWebhookUrl: url(env, 'NOTIFY_WEBHOOK_URL', ['http:', 'https:']),
    notifyWebhookSecret: env.NOTIFY_WEBHOOK_SECRET || undefined,
    notifySmtpUrl: url(env, 'NOTIFY_SMTP_URL', ['smtp:', 'smtps:']),
    notifyEmailFrom: emailFrom(env),
    notifySms: env.NOTIFY_SMS === 'sandbox' ? 'sandbox' : 'off',
    notifyQuietHours: env.NOTIFY_QUIET_HOURS || '22:00-07:00',
    notifyThrottlePerHour: integer(env, 'NOTIFY_THROTTLE_PER_HOUR', 10, 1, 10_000),
    notifyPollMs: integer(env, 'NOTIFY_POLL_MS', 10_000, 100, 3_600_000),
    daysLeftAlertDays: integer(env, 'DAYS_LEFT_ALERT_DAYS', 3, 1, 365),
    ...overrides,
  };
  return Object.freeze(config);
}
