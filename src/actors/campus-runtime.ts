import type { LateQuotaGrant } from '../services/late-quota.service.ts';
import type { BalanceChange } from '../services/balance-change.ts';
import { zoneKeyOf } from '../domain/local-time.ts';
import type { Kysely } from 'kysely';
import type { Database, Purse } from '../db/database.ts';
import { loadTopology, type DormitoryTopology, type GatewayTopology } from '../db/topology.repository.ts';
import { loadControlSnapshots } from '../db/control-state.repository.ts';
import { activeAlarmCounts } from '../db/alarm.repository.ts';
import { RuntimeFenceError } from '../db/runtime-lock.ts';
import { closeInterruptedCommands } from '../db/command.repository.ts';
import { occupantStays } from '../db/quota-policy.repository.ts';
import { EMPTY_CONTROL_SNAPSHOT } from '../domain/control-state.ts';
import type { CircuitKind, SupplyAction } from '../domain/reading.ts';
import type { GatewayDriver, GatewayDriverListener } from '../drivers/gateway-driver.ts';
import type { DormitoryLiveState } from '../live/live-feed.ts';
import type { ActorDeps } from './actor-deps.ts';
import { ActorDirectory, spawnCampus, type CampusChanged, type CampusMsg } from './campus.actor.ts';
import type { DormitoryFlushed, DormitoryMsg, ManualCommandAccepted, PurseStates, QuotaIssueAudit, QuotaIssued } from './dormitory.actor.ts';
import type { RegisterResolution, RegisterResolved } from '../domain/register-hold.ts';
import type { MeterView } from './meter.actor.ts';
import { interruptedCommandDetail, type GatewayView } from './gateway.actor.ts';
import { spawnLedger, type LedgerFlushed, type LedgerMsg } from './ledger.actor.ts';
import { LedgerWriter, type LedgerWriterOptions, type LedgerWriterStatus } from './ledger-writer.ts';
import { LiveHub } from './live-hub.ts';
import { spawnLive } from './live.actor.ts';
import { dispatch, query, start, stop, type Ref } from './nact.ts';
import { ActorBusyError, DomainError, LedgerUnavailableError } from '../errors.ts';

/** How long boot waits for the campus actor to spawn every dormitory. */
const BOOT_SETTLE_TIMEOUT_MS = 300_000;
/** Shutdown: how long the gateways and dormitories may take to drain their mailboxes (no reading comes in by then). */
const SHUTDOWN_DRAIN_TIMEOUT_MS = 4_000;

/** A live actor could not be asked (stopped, or its answer said it failed): 503 ACTOR_UNAVAILABLE. */
export class ActorUnavailableError extends DomainError {
  constructor(message: string) {
    super('ACTOR_UNAVAILABLE', message);
    this.name = 'ActorUnavailableError';
  }
}

export interface CampusRuntimeOptions {
  readonly db: Kysely<Database>;
  readonly deps: ActorDeps;
  readonly ledgerFlushMs: number;
  readonly ledgerBatchSize: number;
  /** The live feed's flush interval (wall time). Default 100. */
  readonly liveFlushMs?: number;
  /** Builds one driver session for a gateway (Modbus TCP, MQTT, or the in-process simulator's endpoint). */
  readonly createDriver: (gateway: GatewayTopology, listener: GatewayDriverListener) => GatewayDriver;
  /** Makes ready what `createDriver` needs for a gateway added at run time (the MQTT connection); rejects when it cannot. */
  readonly prepareDriver?: (gateway: Pick<GatewayTopology, 'protocol'>) => Promise<void>;
  readonly queryTimeoutMs?: number;
  /** Checked first in every ledger transaction: refuses the write when this server no longer holds the runtime lock (LedgerWriterOptions.fence). */
  readonly fence?: LedgerWriterOptions['fence'];
  /** PostgreSQL (another process), not PGlite: see LedgerWriterOptions. */
  readonly databaseOutlivesProcess?: boolean;
}

/** A credit announced while its dormitory reloads, and the actor it was told to (undefined: none). */
interface CreditHeard {
  readonly purse: Purse;
  readonly amount: number;
  readonly ledgerEntryId: number;
  toldTo: Ref<DormitoryMsg> | undefined;
}

/**
 * The running actor system and its edges: boots the tree from the database, owns the driver
 * sessions and the group committer, and gives the HTTP layer its queries. The app calls
 * start() / stop(); nothing here touches the process.
 */
export class CampusRuntime {
  readonly directory = new ActorDirectory();
  readonly live: LiveHub;
  private readonly writer: LedgerWriter;
  private readonly drivers = new Map<string, GatewayDriver>();
  private system: Ref<unknown> | undefined;
  private campus: Ref<CampusMsg> | undefined;
  private ledger: Ref<LedgerMsg> | undefined;
  private readonly timeoutMs: number;
  private occupantsTurn: Promise<void> = Promise.resolve();

  constructor(private readonly options: CampusRuntimeOptions) {
    this.writer = new LedgerWriter({
      db: options.db,
      log: options.deps.log.child({ component: 'ledger' }),
      metrics: options.deps.metrics,
      flushMs: options.ledgerFlushMs,
      batchSize: options.ledgerBatchSize,
      alarmsChanged: (ids) => void this.recountAlarms([...ids]),
      fence: options.fence,
      databaseOutlivesProcess: options.databaseOutlivesProcess,
    });
    this.timeoutMs = options.queryTimeoutMs ?? 2000;
    this.live = new LiveHub(options.liveFlushMs ?? 100);
  }

  async start(): Promise<{ gateways: number; dormitories: number }> {
    const topology = await loadTopology(this.options.db);
    // An earlier run killed with commands in flight left their rows open; no meter answer will
    // ever close them. Closed before any gateway of this run can send a command of its own.
    const interrupted = await closeInterruptedCommands(
      this.options.db,
      topology.gateways.map((g) => g.id),
      new Date(this.options.deps.clock.now()),
      interruptedCommandDetail('it was killed or crashed; closed when it started again'),
    );
    if (interrupted > 0) this.options.deps.log.warn({ commands: interrupted }, 'closed the commands an earlier run left open when it stopped');
    const controls = await loadControlSnapshots(this.options.db, topology.dormitories.map((d) => d.id));
    const alarms = await activeAlarmCounts(this.options.db, topology.dormitories.map((d) => d.id));
    // nact reads a system name only from an object argument (its typings say string).
    const startNamed = start as unknown as (options: { name: string }) => Ref<unknown>;
    this.system = startNamed({ name: `campus-${this.options.deps.nodeId}-${Math.random().toString(36).slice(2, 8)}` });
    const deps: ActorDeps = { ...this.options.deps, ledgerPressure: this.writer, writeAhead: this.writer };
    this.ledger = spawnLedger(this.system, deps, this.writer);
    const live = spawnLive(this.system, deps, this.live);
    this.campus = spawnCampus(
      this.system,
      {
        directory: this.directory,
        ledger: this.ledger,
        live,
        createDriver: (gateway, listener) => {
          const driver = this.options.createDriver(gateway, listener);
          this.drivers.set(gateway.id, driver);
          return driver;
        },
        releaseDriver: (gatewayId) => {
          const driver = this.drivers.get(gatewayId);
          this.drivers.delete(gatewayId);
          driver?.stop().catch((error: unknown) => deps.log.warn({ err: error, gatewayId }, 'driver stop failed'));
        },
      },
      deps,
    );
    // Boot order (no reading lost to a meter not yet attached): gateways are spawned with their
    // drivers stopped; every dormitory is spawned (its meters attach to their gateways as they
    // are); once the campus has handled them all, each gateway starts its driver, behind every
    // AttachMeter in its mailbox, so the driver subscribes knowing all its meters.
    for (const gateway of topology.gateways) {
      const added = await this.ask<CampusChanged>(this.campus, (replyTo) => ({ type: 'AddGateway', gateway, deferStart: true, replyTo }));
      if (!added.ok) throw new Error(`cannot start: ${added.detail}`);
    }
    for (const dormitory of topology.dormitories) {
      const policy = topology.campuses.get(dormitory.campusId);
      if (!policy) continue;
      dispatch(this.campus, { type: 'AddDormitory', dormitory, policy, control: controls.get(dormitory.id) ?? EMPTY_CONTROL_SNAPSHOT, activeAlarms: alarms.get(dormitory.id) ?? 0 });
    }
    // A large campus takes seconds to spawn: this waits for it, not for a live read.
    await this.ask<CampusChanged>(this.campus, (replyTo) => ({ type: 'Settle', replyTo }), BOOT_SETTLE_TIMEOUT_MS);
    for (const { ref } of this.directory.gateways.values()) dispatch(ref, { type: 'StartDriver' });
    return { gateways: topology.gateways.length, dormitories: topology.dormitories.length };
  }

  /** Commits every meter's pending charges and everything the ledger holds. */
  async flush(askTimeoutMs = this.timeoutMs): Promise<void> {
    if (!this.ledger) return;
    // A dormitory replies once its meters have posted (each posts before it replies), so the
    // ledger flush below finds every pending charge in its batch.
    const missed = (
      await Promise.all(
        [...this.directory.dormitories.values()].map((d) =>
          this.ask<DormitoryFlushed>(d.ref, (replyTo) => ({ type: 'FlushBilling', replyTo }), askTimeoutMs).then(
            () => 0,
            () => 1,
          ),
        ),
      )
    ).reduce((sum: number, n) => sum + n, 0);
    if (missed > 0) this.options.deps.log.warn({ dormitories: missed }, 'dormitories did not post their charges in time; their cursors were not advanced (billed again, once, after the restart)');
    await this.commitLedger();
  }

  /** Waits until everything handed to the ledger so far is committed. */
  async commitLedger(): Promise<void> {
    if (!this.ledger) return;
    const flushed = await this.ask<LedgerFlushed>(this.ledger, (replyTo) => ({ type: 'Flush', replyTo }), 30_000);
    if (flushed.fenced) throw new RuntimeFenceError('ledger flush refused: the runtime lock is not held');
    if (!flushed.ok) throw new LedgerUnavailableError();
  }

  /**
   * Shutdown with nothing unwritten: first the drivers stop (no reading comes in any more), then
   * every gateway is asked once (its mailbox is FIFO: the readings it still held are in their
   * meters' mailboxes when it answers), then every dormitory posts its meters' charges, then one
   * ledger flush commits it all, and only then are the actors stopped and the writer closed.
   */
  async stop(): Promise<void> {
    if (!this.system) return;
    for (const retry of this.reloadRetries.values()) clearTimeout(retry.timer);
    this.reloadRetries.clear();
    const log = this.options.deps.log;
    const started = performance.now();
    await Promise.all([...this.drivers.values()].map((d) => d.stop().catch(() => undefined)));
    this.drivers.clear();
    try {
      await Promise.all([...this.directory.gateways.values()].map((g) => this.ask<GatewayView>(g.ref, (replyTo) => ({ type: 'GetGateway', replyTo }), SHUTDOWN_DRAIN_TIMEOUT_MS).catch(() => undefined)));
      await this.flush(SHUTDOWN_DRAIN_TIMEOUT_MS);
    } catch (error) {
      log.error({ err: error }, 'final flush failed');
    }
    stop(this.system);
    this.system = undefined;
    const { unwritten } = await this.writer.close();
    this.live.dispose();
    log.info({ ms: Math.round(performance.now() - started), unwritten: unwritten.length }, 'actor tree stopped');
  }

  /**
   * Commits the pending charges of these dormitories: each replies once its meters have handed
   * their charges to the ledger actor, then one ledger flush commits them. After this the
   * ledger holds every charge billed before the call (settlement reads it).
   */
  async flushBilling(dormitoryIds: readonly string[]): Promise<void> {
    if (!this.ledger) return;
    const entries = dormitoryIds.map((id) => this.directory.dormitories.get(id)).filter((e) => e !== undefined);
    if (entries.length === 0) return;
    await Promise.all(entries.map((e) => this.ask<{ type: 'DormitoryFlushed' }>(e.ref, (replyTo) => ({ type: 'FlushBilling', replyTo }))));
    const flushed = await this.ask<LedgerFlushed>(this.ledger, (replyTo) => ({ type: 'Flush', replyTo }), 30_000);
    if (flushed.fenced) throw new RuntimeFenceError('ledger flush refused: the runtime lock is not held');
    if (!flushed.ok) throw new LedgerUnavailableError();
  }

  /** The group committer's state: /health reports `degraded` while it waits for the database. */
  get ledgerStatus(): LedgerWriterStatus {
    return this.writer.status;
  }

  /** What the group committer holds, by kind (tests, and campus_ledger_pending_items). */
  get ledgerPendingByKind(): ReturnType<LedgerWriter['pendingByKind']> {
    return this.writer.pendingByKind();
  }

  /**
   * A committed ledger entry changed a purse (a recharge credits, a settlement refund debits): the
   * live balance follows. While the dormitory reloads, the credit is also kept and told to the
   * dormitory the reload starts (see `reloadDormitory`).
   */
  creditApplied({ dormitoryId, purse, amountFen: amount, ledgerEntryId }: BalanceChange): void {
    const credit: CreditHeard = { purse, amount, ledgerEntryId, toldTo: undefined };
    const entry = this.directory.dormitories.get(dormitoryId);
    if (entry) {
      dispatch(entry.ref, { type: 'CreditApplied', purse, amount, ledgerEntryId });
      credit.toldTo = entry.ref;
    }
    this.reloads.get(dormitoryId)?.heard.push(credit);
  }

  /** Days-of-credit estimates (src/services/days-left.service.ts): each running dormitory shows its own on the live feed. */
  daysLeftEstimated(estimates: ReadonlyMap<string, NonNullable<DormitoryLiveState['daysLeft']>>): void {
    for (const [id, daysLeft] of estimates) {
      const entry = this.directory.dormitories.get(id);
      if (entry) dispatch(entry.ref, { type: 'DaysLeftEstimated', daysLeft });
    }
  }

  async liveDormitory(id: string): Promise<DormitoryLiveState | undefined> {
    const entry = this.directory.dormitories.get(id);
    if (!entry) return undefined;
    return this.ask<DormitoryLiveState>(entry.ref, (replyTo) => ({ type: 'GetDormitory', replyTo }));
  }

  /** Each purse's billing state as the running dormitory holds it; undefined when it does not run. */
  async purseStates(id: string): Promise<PurseStates | undefined> {
    const entry = this.directory.dormitories.get(id);
    if (!entry) return undefined;
    return this.ask<PurseStates>(entry.ref, (replyTo) => ({ type: 'GetPurseStates', replyTo }));
  }

  /**
   * Issues a purse's free quota for the current period to a running dormitory (idempotent per
   * period); undefined when it does not run. The caller commits the ledger (`commitLedger`).
   */
  async issueQuota(id: string, purse: Purse, occupants: number, operator: string, audit?: QuotaIssueAudit): Promise<QuotaIssued | undefined> {
    const entry = this.directory.dormitories.get(id);
    if (!entry) return undefined;
    return this.ask<QuotaIssued>(entry.ref, (replyTo) => ({ type: 'IssueQuota', purse, occupants, operator, ...(audit ? { audit } : {}), replyTo }), 30_000);
  }

  /** A late occupant's allowance was committed (late-quota.service.ts): the running dormitory adds it to its purse's quota. */
  lateQuotaGranted(grant: LateQuotaGrant): void {
    const entry = this.directory.dormitories.get(grant.dormitoryId);
    if (entry) dispatch(entry.ref, { type: 'QuotaToppedUp', purse: grant.purse, topUp: { studentId: grant.studentId, periodFrom: grant.periodFrom, units: grant.units } });
  }

  /**
   * The occupants of these rooms changed: their running dormitories learn who lives there now
   * (open stays). One call at a time, each reading after the one before told its rooms, so a
   * dormitory never hears an older list after a newer one (a per-occupant grant records it).
   */
  occupantsChanged(dormitoryIds: readonly string[]): Promise<void> {
    const turn = this.occupantsTurn.then(() => this.tellOccupants(dormitoryIds));
    this.occupantsTurn = turn.catch(() => undefined);
    return turn;
  }

  private async tellOccupants(dormitoryIds: readonly string[]): Promise<void> {
    const ids = [...new Set(dormitoryIds)].filter((id) => this.directory.dormitories.has(id));
    if (ids.length === 0) return;
    const stays = await occupantStays(this.options.db, ids);
    for (const id of ids) {
      const entry = this.directory.dormitories.get(id);
      const open = stays.get(id) ?? [];
      if (entry) dispatch(entry.ref, { type: 'OccupantsChanged', occupants: open.length, stays: open });
    }
  }

  async manualCommand(id: string, circuit: CircuitKind | 'all', action: SupplyAction, reason: string, operator: string): Promise<ManualCommandAccepted | undefined> {
    const entry = this.directory.dormitories.get(id);
    if (!entry) return undefined;
    return this.ask<ManualCommandAccepted>(entry.ref, (replyTo) => ({ type: 'ManualCommand', circuit, action, reason, operator, replyTo }));
  }

  /** An operator released an alarm: the circuit (or meter) that raised it may come back. */
  alarmReleased(alarm: { dormitoryId: string | null; meterId: string | null; circuit: string | null }, operator: string): void {
    if (!alarm.dormitoryId) return;
    const entry = this.directory.dormitories.get(alarm.dormitoryId);
    if (!entry) return;
    const circuit = alarm.circuit === 'lighting' || alarm.circuit === 'socket' || alarm.circuit === 'ac' || alarm.circuit === 'main' || alarm.circuit === 'valve' ? alarm.circuit : null;
    dispatch(entry.ref, { type: 'OperatorRelease', meterId: alarm.meterId, circuit, operator });
    void this.recountAlarms([alarm.dormitoryId]);
  }

  /** Tells running dormitories how many of their alarms are active (after a commit or a release changed them). */
  private async recountAlarms(ids: readonly string[]): Promise<void> {
    try {
      const counts = await activeAlarmCounts(this.options.db, ids);
      for (const id of ids) {
        const entry = this.directory.dormitories.get(id);
        if (entry) dispatch(entry.ref, { type: 'AlarmsCounted', activeAlarms: counts.get(id) ?? 0 });
      }
    } catch (error) {
      this.options.deps.log.warn({ err: error }, 'active alarms could not be counted');
    }
  }

  /** A meter's billing as its actor holds it; undefined when its dormitory does not run it. */
  async meterBilling(dormitoryId: string, meterId: string): Promise<MeterView | undefined> {
    const entry = this.directory.dormitories.get(dormitoryId);
    if (!entry || !entry.topology.meters.some((m) => m.meterId === meterId)) return undefined;
    return this.ask<MeterView>(entry.ref, (replyTo) => ({ type: 'GetMeter', meterId, replyTo }));
  }

  /**
   * An operator's decision about a meter's register (accept / void / replace). Answers only
   * after the ledger committed the charge, cursor, audit record and alarm release together.
   * undefined when the dormitory does not run that meter.
   */
  async resolveRegister(dormitoryId: string, meterId: string, resolution: RegisterResolution, operator: string): Promise<RegisterResolved | undefined> {
    const entry = this.directory.dormitories.get(dormitoryId);
    if (!entry || !entry.topology.meters.some((m) => m.meterId === meterId)) return undefined;
    const result = await this.ask<RegisterResolved>(entry.ref, (replyTo) => ({ type: 'ResolveRegister', meterId, resolution, operator, replyTo }));
    if (result.ok) await this.commitLedger();
    return result;
  }

  /**
   * Rule settings changed in the database: re-resolve every running dormitory's rule book, live.
   * Resolves once every meter actor has the new book: each dormitory forwards `RulesChanged`
   * to its meters (which forward it to their circuits) before it forwards the `GetMeter` asked
   * here, and mailboxes are in order, so a meter's answer means it, and every circuit behind it,
   * judges each reading handled from then on by the new rules.
   */
  async rulesChanged(): Promise<number> {
    const ids = [...this.directory.dormitories.keys()];
    if (ids.length === 0) return 0;
    const topology = await loadTopology(this.options.db, ids);
    const reached: Promise<unknown>[] = [];
    let changed = 0;
    for (const dormitory of topology.dormitories) {
      const entry = this.directory.dormitories.get(dormitory.id);
      if (!entry) continue;
      entry.topology = { ...entry.topology, rules: dormitory.rules };
      dispatch(entry.ref, { type: 'RulesChanged', rules: dormitory.rules });
      changed++;
      // A settings change, not a live read: it may wait behind a burst as long as a ledger flush.
      for (const meter of entry.topology.meters) reached.push(this.ask<MeterView>(entry.ref, (replyTo) => ({ type: 'GetMeter', meterId: meter.meterId, replyTo }), 30_000));
    }
    await Promise.all(reached);
    return changed;
  }

  /**
   * A tariff of these dormitories got a new version: each running meter gets its new schedule
   * (it switches at the version's date on the clock). A dormitory whose meters' tariff problem
   * changed (a hold to raise or lift) is rebuilt instead.
   */
  async pricingChanged(dormitoryIds: readonly string[]): Promise<void> {
    const ids = dormitoryIds.filter((id) => this.directory.dormitories.has(id));
    if (ids.length === 0) return;
    const topology = await loadTopology(this.options.db, ids);
    for (const dormitory of topology.dormitories) {
      const entry = this.directory.dormitories.get(dormitory.id);
      if (!entry) continue;
      const problems = (meters: DormitoryTopology['meters']) => meters.map((m) => `${m.meterId}:${m.tariffProblem ?? ''}`).join('|');
      if (problems(entry.topology.meters) !== problems(dormitory.meters)) {
        await this.reloadDormitory(dormitory.id);
        continue;
      }
      entry.topology = { ...entry.topology, meters: entry.topology.meters.map((m) => ({ ...m, pricing: dormitory.meters.find((n) => n.meterId === m.meterId)?.pricing ?? m.pricing })) };
      dispatch(entry.ref, { type: 'PricingChanged', pricing: new Map(dormitory.meters.map((m) => [m.meterId, m.pricing])) });
    }
  }

  /**
   * A campus's settings changed: its running dormitories take the new arrears policy and
   * linkage at once (re-assessed against their balances); when the campus's zone changed they
   * are rebuilt, since schedules, months and days follow it: by the zone's name, not its offset
   * now (Asia/Shanghai to Asia/Hong_Kong keeps +08:00 today and differs in other years; Europe/Berlin
   * to Europe/Paris differs in history), so future switches follow the new zone's rules.
   */
  async campusSettingsChanged(campusId: string): Promise<void> {
    const ids = [...this.directory.dormitories.values()].filter((e) => e.topology.campusId === campusId).map((e) => e.topology.id);
    if (ids.length === 0) return;
    const topology = await loadTopology(this.options.db, ids);
    const policy = topology.campuses.get(campusId);
    if (!policy) return;
    for (const dormitory of topology.dormitories) {
      const entry = this.directory.dormitories.get(dormitory.id);
      if (!entry) continue;
      if (entry.zoneKey !== zoneKeyOf(policy.zone)) {
        await this.reloadDormitory(dormitory.id);
        continue;
      }
      dispatch(entry.ref, { type: 'PolicyChanged', policy: { arrears: policy.arrears, waterArrearsCutsElectricity: policy.waterArrearsCutsElectricity } });
      // The campus's semesters are part of a per-semester quota policy's pricing.
      entry.topology = { ...entry.topology, meters: entry.topology.meters.map((m) => ({ ...m, pricing: dormitory.meters.find((n) => n.meterId === m.meterId)?.pricing ?? m.pricing })) };
      dispatch(entry.ref, { type: 'PricingChanged', pricing: new Map(dormitory.meters.map((m) => [m.meterId, m.pricing])) });
    }
  }

  async gateway(id: string): Promise<GatewayView | undefined> {
    const entry = this.directory.gateways.get(id);
    if (!entry) return undefined;
    return this.ask<GatewayView>(entry.ref, (replyTo) => ({ type: 'GetGateway', replyTo }));
  }

  /** Dormitories being brought up to date from the database (`resyncDormitory`), and those to do again after. */
  private readonly resyncing = new Set<string>();
  private readonly resyncAgain = new Set<string>();

  /**
   * Brings a running dormitory up to date from the database in the background (a reload: its
   * pending charges are committed first, then its balances are read back): a credit may have
   * committed that it was never told of (src/services/lost-commit-watch.ts). Calls for a
   * dormitory already being brought up to date run it once more after.
   */
  resyncDormitory(id: string): void {
    if (!this.directory.dormitories.has(id)) return;
    if (this.resyncing.has(id)) {
      this.resyncAgain.add(id);
      return;
    }
    this.resyncing.add(id);
    const run = async (): Promise<void> => {
      do {
        this.resyncAgain.delete(id);
        await this.reloadDormitory(id);
      } while (this.resyncAgain.has(id));
    };
    run()
      .catch((error: unknown) => this.options.deps.log.warn({ err: error, dormitoryId: id }, 'could not bring a dormitory up to date from the database yet; the reload runs again (backing off)'))
      .finally(() => this.resyncing.delete(id));
  }

  /**
   * Reloads in progress, by dormitory: one after another per dormitory, and the credits announced
   * meanwhile. A credit commits and is announced independently of a reload: announced while the
   * dormitory is stopped it would reach no actor; committed before the balances are read but
   * announced after it would be counted twice. So each reload tells the dormitory it started
   * every credit heard since the first waiting reload began, except those already told to that
   * very actor; the dormitory applies only those above the ledger entry its balance was loaded
   * through (docs/architecture.md, "Money invariants").
   */
  private readonly reloads = new Map<string, { tail: Promise<unknown>; waiting: number; readonly heard: CreditHeard[] }>();

  /**
   * Starts (or restarts) a dormitory from the database: used after the API adds or changes one.
   * `whileStopped` runs once its actors are stopped and their charges committed (a meter
   * removed); the dormitory starts again whether or not it succeeds, and its error is thrown after.
   */
  async reloadDormitory(id: string, whileStopped?: () => Promise<void>): Promise<boolean> {
    const reload = this.reloads.get(id) ?? { tail: Promise.resolve(), waiting: 0, heard: [] };
    this.reloads.set(id, reload);
    reload.waiting += 1;
    let changeFailed: { readonly error: unknown } | undefined;
    const change = whileStopped
      ? async () => {
          try {
            await whileStopped();
          } catch (error) {
            changeFailed = { error };
          }
        }
      : undefined;
    const run = reload.tail.then(
      () => this.reloadNow(id, reload.heard, change),
      () => this.reloadNow(id, reload.heard, change),
    );
    reload.tail = run;
    try {
      const started = await run;
      this.reloadRetries.delete(id);
      if (changeFailed) throw changeFailed.error;
      return started;
    } catch (error) {
      if (!changeFailed) this.retryReloadLater(id, error);
      throw error;
    } finally {
      reload.waiting -= 1;
      if (reload.waiting === 0) this.reloads.delete(id);
    }
  }

  /** Failed reloads waiting to run again, by dormitory: the timer, and the delay it used. */
  private readonly reloadRetries = new Map<string, { timer: NodeJS.Timeout | undefined; delayMs: number }>();

  /**
   * A reload that failed part way (its charges could not be committed, the dormitory did not
   * answer in time) may leave the dormitory running with its meters retired: no billing and no
   * rule sees their readings (an outside attack got 503 ACTOR_BUSY on a meter removal under
   * load). It runs again in the background, backing off from 1 s to 30 s, until it succeeds or
   * the dormitory is gone.
   */
  private retryReloadLater(id: string, error: unknown): void {
    if (!this.system) return;
    const retry = this.reloadRetries.get(id) ?? { timer: undefined, delayMs: 500 };
    if (retry.timer) return;
    retry.delayMs = Math.min(retry.delayMs * 2, 30_000);
    this.options.deps.log.warn({ err: error, dormitoryId: id, retryInMs: retry.delayMs }, 'a dormitory reload failed; it runs again');
    retry.timer = setTimeout(() => {
      retry.timer = undefined;
      if (!this.system) return;
      this.reloadDormitory(id).catch(() => undefined); // a failure schedules the next try
    }, retry.delayMs);
    retry.timer.unref();
    this.reloadRetries.set(id, retry);
  }

  private async reloadNow(id: string, heard: readonly CreditHeard[], whileStopped?: () => Promise<void>): Promise<boolean> {
    if (!this.campus) return false;
    // The stopped actors' last control states must be committed before they are read back; a
    // dormitory that was not running (just created) left none, and waits for no commit.
    if ((await this.unloadDormitory(id)) && this.ledger) await this.ask<LedgerFlushed>(this.ledger, (replyTo) => ({ type: 'Flush', replyTo }), 30_000);
    await whileStopped?.();
    const topology = await loadTopology(this.options.db, [id]);
    const dormitory = topology.dormitories[0];
    if (!dormitory) return false;
    const policy = topology.campuses.get(dormitory.campusId);
    if (!policy) return false;
    const control = (await loadControlSnapshots(this.options.db, [id])).get(id) ?? EMPTY_CONTROL_SNAPSHOT;
    const activeAlarms = (await activeAlarmCounts(this.options.db, [id])).get(id) ?? 0;
    const result = await this.ask<CampusChanged>(this.campus, (replyTo) => ({ type: 'AddDormitory', dormitory, policy, control, activeAlarms, replyTo }));
    const started = this.directory.dormitories.get(id);
    if (started) {
      for (const credit of heard) {
        if (credit.toldTo === started.ref) continue;
        dispatch(started.ref, { type: 'CreditApplied', purse: credit.purse, amount: credit.amount, ledgerEntryId: credit.ledgerEntryId });
        credit.toldTo = started.ref;
      }
    }
    return result.ok;
  }

  /**
   * Stops a dormitory's actors without losing or repeating a charge: its meters post their
   * pending charges and stop billing, the ledger commits them, and only then is the dormitory
   * stopped, so a reload that follows reads cursors that cover everything billed live.
   * Throws when the charges could not be committed (the meters stay retired: billing holds,
   * nothing is billed twice).
   */
  async unloadDormitory(id: string): Promise<boolean> {
    const entry = this.directory.dormitories.get(id);
    if (!entry || !this.campus) return false;
    await this.ask<DormitoryFlushed>(entry.ref, (replyTo) => ({ type: 'FlushBilling', retire: true, replyTo }), 10_000);
    await this.commitLedger();
    const result = await this.ask<CampusChanged>(this.campus, (replyTo) => ({ type: 'RemoveDormitory', dormitoryId: id, replyTo }));
    return result.ok;
  }

  /**
   * Readies the node for a gateway about to be added (connects to the broker on demand). The
   * API calls it before committing the gateway, so a node that cannot run it refuses it whole.
   */
  async prepareGateway(gateway: Pick<GatewayTopology, 'protocol'>): Promise<void> {
    await this.options.prepareDriver?.(gateway);
  }

  async addGateway(gateway: GatewayTopology): Promise<boolean> {
    if (!this.campus) return false;
    return (await this.ask<CampusChanged>(this.campus, (replyTo) => ({ type: 'AddGateway', gateway, replyTo }))).ok;
  }

  async removeGateway(gatewayId: string): Promise<boolean> {
    if (!this.campus) return false;
    return (await this.ask<CampusChanged>(this.campus, (replyTo) => ({ type: 'RemoveGateway', gatewayId, replyTo }))).ok;
  }

  /**
   * nact's ask. An actor that does not answer within the timeout is busy (its mailbox behind a
   * burst): ActorBusyError (HTTP 503 ACTOR_BUSY, Retry-After the timeout, counted); one that
   * cannot be asked at all (stopped) is ActorUnavailableError (503 ACTOR_UNAVAILABLE).
   */
  private async ask<R>(ref: Ref<never> | Ref<unknown>, message: (replyTo: Ref<R>) => unknown, timeoutMs = this.timeoutMs): Promise<R> {
    try {
      return (await query(ref as Ref<unknown>, message as (replyTo: Ref<unknown>) => unknown, timeoutMs)) as R;
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      if (text !== 'Query Timeout') throw new ActorUnavailableError(text);
      const actor = (ref as { name?: string }).name?.split('.')[0] ?? 'unknown';
      this.options.deps.metrics.actorAskTimeouts.inc({ actor });
      throw new ActorBusyError(`${actor} did not answer within ${timeoutMs} ms; retry later`, Math.max(1, Math.ceil(timeoutMs / 1000)));
    }
  }
}
