import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { CampusRuntime } from './actors/campus-runtime.ts';
import type { ActorDeps } from './actors/actor-deps.ts';
import type { AppContext } from './app-context.ts';
import { SimulatedClock, SystemClock, type Clock } from './clock.ts';
import type { Config } from './config.ts';
import { openDatabase, type DatabaseHandle } from './db/connect.ts';
import { migrateToLatest } from './db/migrate.ts';
import type { Executor } from './db/executor.ts';
import { holdRuntimeLock, type RuntimeLockEvents, type RuntimeLockKeeper } from './db/runtime-lock.ts';
import { loadTopology } from './db/topology.repository.ts';
import { GatewaySessions } from './drivers/gateway-sessions.ts';
import alarmRoutes from './http/alarm.routes.ts';
import notificationRoutes from './http/notification.routes.ts';
import { createNotificationDispatcher } from './services/notification-service.ts';
import { watchDaysLeft } from './services/days-left.service.ts';
import type { BalanceChange } from './services/balance-change.ts';
import { watchMonthlyBills } from './services/monthly-bill.service.ts';
import { settleOccupantsMissedByGrants, type LateQuotaGrant } from './services/late-quota.service.ts';
import type { NotificationDispatcher } from './services/notification-dispatcher.ts';
import meterRegisterRoutes from './http/meter-register.routes.ts';
import approvalRoutes from './http/approval.routes.ts';
import authPlugin from './http/auth.plugin.ts';
import commandRoutes from './http/command.routes.ts';
import dashboardPlugin from './http/dashboard.plugin.ts';
import dormitoryRoutes from './http/dormitory.routes.ts';
import errorHandler, { frameworkErrors } from './http/error-handler.plugin.ts';
import healthRoutes from './http/health.routes.ts';
import inputGuard from './http/input-guard.plugin.ts';
import liveWebSocket from './http/live.websocket.ts';
import metricsRoutes from './http/metrics.routes.ts';
import { createMetricsServer } from './http/metrics-server.ts';
import openApiPlugin from './http/openapi.plugin.ts';
import rechargeRoutes, { type LiveBalances } from './http/recharge.routes.ts';
import moneyOperationRoutes from './http/money-operation.routes.ts';
import billRoutes from './http/bill.routes.ts';
import auditRoutes from './http/audit.routes.ts';
import journalRoutes from './http/journal.routes.ts';
import rankingRoutes from './http/ranking.routes.ts';
import reportRoutes from './http/report.routes.ts';
import paymentRoutes from './http/payment.routes.ts';
import { PaymentProviders } from './services/payments/payment-providers.ts';
import { PendingPaymentJob } from './services/pending-payment-job.ts';
import ruleRoutes from './http/rule.routes.ts';
import sessionRoutes from './http/session.routes.ts';
import simulatorRoutes from './http/simulator.routes.ts';
import topologyRoutes from './http/topology.routes.ts';
import tariffRoutes from './http/tariff.routes.ts';
import campusRoutes from './http/campus.routes.ts';
import quotaPolicyRoutes from './http/quota-policy.routes.ts';
import userRoutes from './http/user.routes.ts';
import studentRoutes from './http/student.routes.ts';
import occupancyRoutes from './http/occupancy.routes.ts';
import importRoutes from './http/import.routes.ts';
import { ImportJobs } from './services/import-jobs.ts';
import type { LiveAccounts } from './services/occupancy.service.ts';
import validationPlugin from './http/validation.plugin.ts';
import { scryptCost } from './domain/password.ts';
import { createLogger } from './logger.ts';
import { Metrics } from './metrics/metrics.ts';
import { ensureAdmin, type AdminCredentials } from './services/bootstrap-admin.ts';
import { gatewayCredentialValid, issueGatewayCredential } from './services/gateway-credential.service.ts';
import displayTokenRoutes from './http/display-token.routes.ts';
import studentUsageRoutes from './http/student-usage.routes.ts';
import gatewayCredentialRoutes from './http/gateway-credential.routes.ts';
import { isDatabaseEmpty, seedDemoCampus, type DemoCampusShape } from './services/demo-campus.seed.ts';
import { describeCampusFromDatabase, simulatedClockStartMs } from './simulator/campus-description.repository.ts';
import { SimulatorRuntime } from './simulator/simulator-runtime.ts';

export interface AppOptions {
  /** Injected clock; the system clock by default (a SimulatedClock when simulating). */
  readonly clock?: Clock;
  /** An already-open database (tests); otherwise opened from the config. */
  readonly database?: DatabaseHandle;
  /** Seed the demo campus when the database is empty. */
  readonly seedDemo?: boolean;
  /** The demo campus's size (tests seed a small one); 2 buildings x 5 floors x 20 rooms by default. */
  readonly demoShape?: DemoCampusShape;
  readonly logger?: Logger;
  /** Commands retried after a failure once this much clock time has passed. Default 30 s. */
  readonly commandRetryMs?: number;
  /**
   * Called after the app stopped itself because it can no longer run safely: another server took
   * the runtime lock while this one's database connection was down (src/db/runtime-lock.ts).
   */
  readonly onFatal?: (error: Error) => void;
  /** How often a lost runtime lock is taken again. Default 1 s. */
  readonly runtimeLockRetryMs?: number;
}

export interface App {
  readonly http: FastifyInstance;
  /** The separate metrics listener (METRICS_PORT); undefined when metrics are on the API port. */
  readonly metricsHttp: FastifyInstance | undefined;
  readonly context: AppContext;
  readonly admin: AdminCredentials;
  readonly metrics: Metrics;
  readonly runtime: CampusRuntime;
  /** Excel batch jobs (POST /api/imports/*). */
  readonly imports: ImportJobs;
  /** The pending-payment job (docs/payments.md); undefined when no provider is enabled or PAYMENT_QUERY_AFTER_MINUTES=0. */
  readonly pendingPayments: PendingPaymentJob | undefined;
  /** The MQTT broker the drivers use, once started (MQTT_URL, or the embedded broker's ephemeral address). */
  readonly mqttUrl: string | undefined;
  /** Set when the in-process simulator runs (config.simulate). */
  readonly simulator: SimulatorRuntime | undefined;
  /** Boots the simulator (if any), the drivers and the actor tree, then listens. Resolves with the URL. */
  start(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Builds the whole system from a config object: database (migrated), HTTP, the actor tree,
 * the drivers and (with `simulate`) the demo campus simulator. Touches no process state:
 * src/server.ts and the CLI do that.
 */
export async function buildApp(config: Config, options: AppOptions = {}): Promise<App> {
  const log = options.logger ?? createLogger(config);
  const clock = options.clock ?? (config.simulate ? new SimulatedClock(Date.now(), config.simulatorSpeed) : new SystemClock());
  const database =
    options.database ??
    (await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, onConnectionError: (error) => log.warn({ err: error }, 'database connection lost; the pool reconnects') }));
  const ownsDatabase = options.database === undefined;
  try {
    if (ownsDatabase) await migrateToLatest(database.db);
    const admin = await ensureAdmin(database.db, config.adminPassword, scryptCost(config.passwordScryptLog2N));
    if (options.seedDemo && (await isDatabaseEmpty(database.db))) {
      const seeded = await seedDemoCampus(database.db, new Date(clock.now()), options.demoShape);
      log.info({ dormitories: seeded.dormitories }, 'seeded the demo campus');
    }
    if (options.clock === undefined && clock instanceof SimulatedClock) {
      // A restarted simulated clock starts no earlier than billing has read (an earlier run at a
      // higher SIMULATOR_SPEED): behind the cursors, every meter's postings would wait for it.
      // Under a minute behind is left alone (harmless, and advance() must stay forward).
      const lag = (await simulatedClockStartMs(database.db, clock.now())) - clock.now();
      if (lag > 60_000) {
        clock.advance(lag);
        log.info({ clock: new Date(clock.now()).toISOString() }, 'simulated clock moved forward to the latest billed reading');
      }
    }
    let runtimeLock: RuntimeLockKeeper | undefined;
    // PostgreSQL: a ledger commit or a money transaction first checks that this server still holds
    // the runtime lock (an app never started runs no actor and holds none: nothing to fence).
    const fence = database.kind === 'postgres' ? (trx: Executor) => runtimeLock?.fence(trx) ?? Promise.resolve() : undefined;
    const context: AppContext = { config, db: database.db, clock, log, fence };
    const metrics = new Metrics();
    const deps: ActorDeps = {
      clock,
      log: log.child({ component: 'actors' }),
      metrics,
      postingIntervalMs: config.billingPostIntervalMs,
      commandRetryMs: options.commandRetryMs ?? 30_000,
      nodeId: config.nodeId,
      runtimeLockHeld: () => runtimeLock?.held ?? true,
    };
    const sessions = new GatewaySessions({
      clock,
      log,
      pollIntervalMs: config.pollIntervalMs,
      mqttUrl: config.mqttUrl,
      mqttTopicPrefix: config.mqttTopicPrefix,
      gatewaySecretValid: (gatewayId, secret) => gatewayCredentialValid(database.db, gatewayId, secret),
      onTelemetryShed: () => metrics.telemetryShed.inc(),
    });
    const runtime = new CampusRuntime({
      db: database.db,
      deps,
      ledgerFlushMs: config.ledgerFlushMs,
      ledgerBatchSize: config.ledgerBatchSize,
      liveFlushMs: config.liveFlushMs,
      queryTimeoutMs: config.actorQueryTimeoutMs,
      fence,
      databaseOutlivesProcess: database.kind === 'postgres',
      createDriver: (gateway, listener) => sessions.create(gateway, listener),
      prepareDriver: (gateway) => sessions.prepare(gateway),
    });
    let simulator: SimulatorRuntime | undefined;
    if (config.simulate) {
      if (!(clock instanceof SimulatedClock)) throw new Error('the simulator needs a SimulatedClock');
      const description = await describeCampusFromDatabase(database.db);
      for (const meter of description.unsimulated) log.warn({ component: 'simulator', ...meter }, 'meter not simulated; it stays offline');
      simulator = new SimulatorRuntime({
        description,
        clock,
        mqttUrl: () => sessions.startBroker(),
        // The in-process gateways get credentials like real ones (issued, hashed, audited), fresh at each boot.
        gatewayCredentials: async (gatewayId) => {
          const issued = await issueGatewayCredential(database.db, gatewayId, 'simulator', new Date(clock.now()));
          return { username: issued.username, password: issued.secret };
        },
        topicPrefix: config.mqttTopicPrefix,
        log: log.child({ component: 'simulator' }),
      });
    }

    // Request lines are debug-level noise for a control room: at info the http child logs warnings up (a quieter level stays quieter).
    const httpLog = log.child({ component: 'http' }, { level: config.logLevel === 'info' ? 'warn' : config.logLevel });
    const http: FastifyInstance = Fastify({ loggerInstance: httpLog as FastifyBaseLogger, bodyLimit: 1_048_576, frameworkErrors });
    await http.register(errorHandler);
    await http.register(validationPlugin);
    await http.register(inputGuard);
    await http.register(openApiPlugin);
    await http.register(authPlugin, { context });
    await http.register(sessionRoutes, { context });
    await http.register(healthRoutes, { context, ledger: () => runtime.ledgerStatus, runtimeLockHeld: () => (database.kind === 'postgres' ? runtimeLock?.held : undefined) });
    // Metrics on the API port (optionally behind METRICS_TOKEN), or only on their own listener.
    const metricsHttp = config.metricsPort === undefined ? undefined : await createMetricsServer(config, metrics, log);
    if (!metricsHttp) await http.register(metricsRoutes, { metrics, path: '/api/metrics', token: config.metricsToken });
    await http.register(dormitoryRoutes, {
      context,
      live: { liveDormitory: (id) => runtime.liveDormitory(id).then(liveDetail, () => undefined), purseStates: (id) => runtime.purseStates(id).catch(() => undefined) },
    });
    const credits = {
      creditApplied: (change: BalanceChange) => runtime.creditApplied(change),
      creditMaybeMissed: (id: string) => runtime.resyncDormitory(id),
      flushBilling: (ids: readonly string[]) => runtime.flushBilling(ids),
    };
    const balances: LiveBalances = { liveBalance: async (id, purse) => (await runtime.liveDormitory(id))?.balance[purse] };
    await http.register(rechargeRoutes, { context, credits, balances });
    await http.register(moneyOperationRoutes, { context, live: credits, balances });
    await http.register(approvalRoutes, { context, credits });
    await http.register(reportRoutes, { context });
    await http.register(rankingRoutes, { context });
    await http.register(journalRoutes, { context });
    await http.register(auditRoutes, { context });
    await http.register(billRoutes, { context });
    const paymentProviders = new PaymentProviders(config.paymentProviders, { db: database.db, clock });
    await http.register(paymentRoutes, { context, providers: paymentProviders, credits });
    await http.register(commandRoutes, { context, runtime });
    await http.register(notificationRoutes, { context });
    await http.register(alarmRoutes, { context, releases: { alarmReleased: (alarm, operator) => runtime.alarmReleased(alarm, operator) } });
    await http.register(ruleRoutes, { context, runtime });
    await http.register(topologyRoutes, { context, runtime });
    await http.register(gatewayCredentialRoutes, { context, broker: { disconnectGateway: (id) => sessions.disconnectGateway(id) } });
    await http.register(tariffRoutes, { context, runtime });
    await http.register(campusRoutes, { context, runtime });
    await http.register(quotaPolicyRoutes, { context, runtime });
    await http.register(userRoutes, { context });
    await http.register(studentRoutes, { context });
    const missedOccupants = { db: database.db, clock, flushBilling: (rooms: readonly string[]) => runtime.flushBilling(rooms), quotaGranted: (grant: LateQuotaGrant) => runtime.lateQuotaGranted(grant), fence };
    const liveAccounts: LiveAccounts = {
      flushBilling: (ids) => runtime.flushBilling(ids),
      balanceChanged: (change) => runtime.creditApplied(change),
      occupantsChanged: async (ids) => {
        await runtime.occupantsChanged(ids);
        await settleOccupantsMissedByGrants(missedOccupants, ids);
      },
      quotaGranted: (grant) => runtime.lateQuotaGranted(grant),
      fence,
    };
    await http.register(occupancyRoutes, { context, live: liveAccounts });
    const importJobs = new ImportJobs({ db: database.db, clock, log: log.child({ component: 'imports' }), nodeId: config.nodeId, live: liveAccounts });
    await http.register(importRoutes, { context, jobs: importJobs });
    await http.register(meterRegisterRoutes, { context, runtime });
    await http.register(displayTokenRoutes, { context });
    await http.register(studentUsageRoutes, { context });
    await http.register(liveWebSocket, { feed: runtime.live, jobs: importJobs, context, metrics });
    if (simulator) await http.register(simulatorRoutes, { runtime: simulator });
    await http.register(dashboardPlugin);
    await http.ready();

    let started = false;
    let stopped: Promise<void> | undefined;
    let notifications: NotificationDispatcher | undefined;
    let stopDaysLeft: (() => void) | undefined;
    let stopBills: (() => Promise<void>) | undefined;
    const lockLog = log.child({ component: 'runtime-lock' });
    const lockEvents: RuntimeLockEvents = {
      lost: (error) => lockLog.error({ err: error }, 'the runtime lock was lost with its database connection; taking it again'),
      retaken: () => lockLog.info('the runtime lock is held again'),
      takenOver: (error) => {
        lockLog.fatal({ err: error }, 'another server took the runtime lock: stopping this one');
        void app.stop().finally(() => options.onFatal?.(error));
      },
    };
    // Payments whose notification never came are asked about at their provider (PAYMENT_QUERY_AFTER_MINUTES, 0: off).
    const pendingPayments =
      paymentProviders.names.length > 0 && config.paymentQueryAfterMinutes > 0
        ? new PendingPaymentJob({
            context: { ...context, log: log.child({ component: 'pending-payments' }) },
            providers: paymentProviders,
            listener: credits,
            afterMs: config.paymentQueryAfterMinutes * 60_000,
            intervalMs: config.paymentQueryIntervalSeconds * 1000,
            batchSize: config.paymentQueryBatch,
            backoff: { baseMs: config.paymentQueryIntervalSeconds * 1000, maxMs: 3_600_000 },
          })
        : undefined;
    const app: App = {
      http,
      metricsHttp,
      context,
      admin,
      metrics,
      runtime,
      imports: importJobs,
      pendingPayments,
      simulator,
      get mqttUrl() {
        return sessions.brokerUrlInUse;
      },
      async start() {
        try {
          metrics.startSampling();
          // Before anything that bills or drives a relay: a second server on this database is refused here.
          runtimeLock = await holdRuntimeLock((onLost) => database.lockRuntime(onLost), lockEvents, options.runtimeLockRetryMs);
          // The jobs an earlier run left running are its to close only once this server is the one running the campus
          // (a refused second server closed a live server's import as failed).
          await importJobs.recover();
          const endpoints = simulator ? await simulator.start() : undefined;
          const topology = await loadTopology(database.db, []);
          await sessions.start(topology.gateways, endpoints);
          started = true;
          const booted = await runtime.start();
          log.info(booted, 'actor tree booted');
          // A check-in whose settling a stop or crash cut short: the stay a first-usage grant did not count gets its late share now.
          await settleOccupantsMissedByGrants(missedOccupants, [...runtime.directory.dormitories.keys()]).catch((error: unknown) => log.warn({ err: error }, 'late quota of occupants missed by a grant failed'));
          notifications = await createNotificationDispatcher(config, { db: database.db, clock, log });
          notifications.start();
          pendingPayments?.start();
          stopDaysLeft = watchDaysLeft(
            { db: database.db, clock, onError: (error) => log.warn({ err: error }, 'days-left check failed'), onEstimates: (estimates) => runtime.daysLeftEstimated(estimates) },
            config.daysLeftAlertDays,
            3_600_000,
          );
          // Monthly bills at each month end on the campus's clock; catches up months missed while down.
          stopBills = watchMonthlyBills({
            db: database.db,
            clock,
            flush: (ids) => runtime.flushBilling(ids),
            onError: (error) => log.warn({ err: error }, 'monthly bills failed; retried at the next check'),
            onBilled: (runs) => log.info({ runs }, 'monthly bills written'),
          });
          if (metricsHttp) log.info({ address: await metricsHttp.listen({ port: config.metricsPort, host: config.metricsHost }) }, 'metrics listening');
          return await http.listen({ port: config.port, host: config.host });
        } catch (error) {
          // Nothing half-started may keep the process alive: the caller exits non-zero.
          await app.stop().catch((stopError: unknown) => log.error({ err: stopError }, 'cleanup after a failed start failed'));
          throw error;
        }
      },
      stop() {
        stopped ??= (async () => {
          await http.close();
          await metricsHttp?.close();
          await importJobs.stop();
          stopDaysLeft?.();
          await stopBills?.();
          await notifications?.stop();
          await pendingPayments?.stop();
          if (started) await runtime.stop();
          await sessions.stop();
          await simulator?.stop();
          await runtimeLock?.release();
          if (clock instanceof SimulatedClock) clock.dispose();
          if (ownsDatabase) await database.close();
          metrics.stopSampling();
        })();
        return stopped;
      },
    };
    return app;
  } catch (error) {
    if (ownsDatabase) await database.close().catch(() => undefined);
    throw error;
  }
}

/** The live part of GET /api/dormitories/:id (balances and circuits as the actors hold them). */
function liveDetail(live: Awaited<ReturnType<CampusRuntime['liveDormitory']>>): Record<string, unknown> | undefined {
  if (!live) return undefined;
  return { state: live.state, balance: live.balance, powerW: live.powerW, online: live.online, circuits: live.circuits, activeAlarms: live.activeAlarms, lastReadingAt: live.lastReadingAt };
}
