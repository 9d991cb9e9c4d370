import websocket from '@fastify/websocket';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { Type, type Static } from 'typebox';
import type { WebSocket } from 'ws';
import type { AppContext } from '../app-context.ts';
import { listBuildings } from '../db/campus.repository.ts';
import { findSessionOperator, findSessionOperators, type Operator } from '../db/operator.repository.ts';
import type { JobFeed } from '../live/job-feed.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { DormitoryLiveState, LiveFeed } from '../live/live-feed.ts';
import { PublishedStates, type DormitoryDelta } from '../live/live-delta.ts';
import { buildingTimeZone } from '../services/campus.service.ts';
import { displayTokenHash, liveDisplayTokens } from '../services/display-token.service.ts';
import { wallAlarms, wallAlarmsMessage } from './wall-alarms.ts';
import { tokenHash } from './auth.plugin.ts';

/**
 * GET /ws/live: the control room's and wall displays' feed (docs/websocket.md). A client gets a
 * snapshot of its scope (campus, one building, or a student's own dormitory), then coalesced
 * diffs. A slow client never gets an unbounded queue: while its socket buffer is above the
 * high-water mark, changes only mark dormitory ids dirty, and once it drains it gets the
 * latest state of the dirty ones in one message. Per client the server holds at most one dirty
 * id per dormitory in its scope, so a client always ends at the latest state. A client that stays
 * above the mark for `stallTimeoutMs` (it stopped reading), or whose buffer passes
 * `maxBufferedBytes`, is terminated and counted: a stalled client costs no growing memory.
 */

export interface LiveWebSocketOptions {
  readonly feed: LiveFeed;
  readonly context: AppContext;
  /** Excel batch progress, pushed to staff clients as `{"type":"job"}` (not to students). */
  readonly jobs?: JobFeed;
  /** Above this many queued bytes a client is slow and diffs are held as dirty ids. Default 1 MiB. */
  readonly highWaterMarkBytes?: number;
  /** Keepalive ping interval; a client that misses a whole interval is dropped. Default 30 s. */
  readonly pingIntervalMs?: number;
  /** A client above the high-water mark this long without draining below it is dropped. Default 15 s. */
  readonly stallTimeoutMs?: number;
  /** A client whose buffer passes this (a snapshot and a job end on top of the mark) is dropped at once. Default 32 MiB. */
  readonly maxBufferedBytes?: number;
  /** Clients sent a flush in one turn of the event loop; the rest in the turns after. Default 200. */
  readonly fanOutChunk?: number;
  /** Where dropped clients are counted (`campus_live_clients_dropped_total`) and open ones gauged. */
  readonly metrics?: Pick<Metrics, 'liveClientsDropped' | 'liveClients'>;
}

/** Why the server dropped a live client. */
export type LiveClientDropReason = 'stalled' | 'buffer_limit' | 'keepalive';

export interface LiveClientStats {
  readonly id: number;
  readonly operator: string;
  /** `campus`, `building:<id>` or `dormitory:<id>`. */
  readonly scope: string;
  /** What it reads after its snapshot: whole states, or deltas. */
  readonly format: 'full' | 'delta';
  /** Dirty dormitory ids held for this client (bounded by the dormitories in its scope). */
  readonly pending: number;
  readonly bufferedAmount: number;
  readonly slow: boolean;
  readonly messagesSent: number;
  /** Diffs this client did not get as such because it was slow (their changes went dirty). */
  readonly diffsHeld: number;
}

export interface LiveWebSocketStats {
  readonly clients: readonly LiveClientStats[];
  /** Diff payloads serialised: once per scope per feed call, not once per client. */
  readonly diffSerialisations: number;
  readonly feedCalls: number;
  /** Clients the server dropped, by reason (since start). */
  readonly dropped: Readonly<Record<LiveClientDropReason, number>>;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Counters of the live WebSocket feed (tests, metrics). */
    liveWebSocketStats(): LiveWebSocketStats;
  }
}

/** Close codes in the 4000-4999 private range, mirroring HTTP statuses. */
export const LIVE_CLOSE_CODES = { unauthenticated: 4401, forbidden: 4403 } as const;

/** Sent with 4401 when the session a socket was opened with has ended (logout, revoked, user disabled) or its rights changed. */
export const SESSION_ENDED_REASON = 'session ended';
/** Sent with 4401 to a wall display whose token was revoked. */
export const DISPLAY_REVOKED_REASON = 'display token revoked';

/** Offered first by browsers next to `bearer.<token>`; echoed back by the server (ws picks the first). */
export const LIVE_SUBPROTOCOL = 'campus-live';

const DEFAULT_HIGH_WATER_MARK_BYTES = 1_048_576;
const DEFAULT_PING_INTERVAL_MS = 30_000;
const DEFAULT_STALL_TIMEOUT_MS = 15_000;
const DEFAULT_MAX_BUFFERED_BYTES = 32 * 1_048_576;
const DEFAULT_FAN_OUT_CHUNK = 200;

const Query = Type.Object(
  {
    building: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    token: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    /** `delta`: after the snapshot, only the fields that changed (docs/websocket.md, "Deltas"); `full` (default): whole states. */
    format: Type.Optional(Type.Union([Type.Literal('full'), Type.Literal('delta')])),
  },
  { additionalProperties: false },
);

/** One feed call's changes in a scope: the whole states, and (while delta clients are open) their deltas. */
interface Changes {
  readonly states: readonly DormitoryLiveState[];
  readonly deltas: DormitoryDelta[];
}

type Scope = { readonly kind: 'campus' } | { readonly kind: 'building'; readonly building: string } | { readonly kind: 'dormitory'; readonly dormitoryId: string };

/**
 * What a socket was opened with: a session (and the rights it had then), or a wall display's
 * token (read-only, campus or one building, no job progress).
 */
type Credential =
  | { readonly kind: 'session'; readonly tokenHash: string; readonly role: Operator['role']; readonly dormitoryId: string | null }
  | { readonly kind: 'display'; readonly tokenHash: string; readonly displayTokenId: number };

/** What a wall display is told with its snapshot, since it may call no REST route. */
interface DisplayContext {
  readonly buildings: readonly { readonly id: string; readonly name: string }[];
  readonly timeZone: string;
}

interface LiveClient {
  readonly id: number;
  readonly socket: WebSocket;
  readonly operator: string;
  readonly credential: Credential;
  readonly scope: Scope;
  readonly scopeKey: string;
  readonly format: 'full' | 'delta';
  /**
   * A delta client whose copy is not known to equal the published states (after its snapshot, or
   * a catch-up sent whole between flushes): its next flush is sent whole, and it reads deltas after.
   */
  wholeNext: boolean;
  /** Dormitory ids whose latest state this client has not been sent yet. */
  readonly dirty: Set<string>;
  alive: boolean;
  /** Wall-clock ms since when its buffer has been above the high-water mark; undefined while below. */
  slowSince: number | undefined;
  messagesSent: number;
  diffsHeld: number;
  /** A wall display's last `alarms` message: sent again only when it changes. */
  alarmsSent?: string;
}

function scopeKeyOf(scope: Scope): string {
  switch (scope.kind) {
    case 'campus':
      return 'campus';
    case 'building':
      return `building:${scope.building}`;
    case 'dormitory':
      return `dormitory:${scope.dormitoryId}`;
  }
}

/** The bearer token of an upgrade request: `?token=`, else a `bearer.<token>` subprotocol. */
function tokenOf(request: FastifyRequest): string | undefined {
  const query = request.query as Static<typeof Query>;
  if (query.token) return query.token;
  return subprotocolValue(request, 'bearer.');
}

/** The value of the first offered subprotocol `<prefix><value>`. */
function subprotocolValue(request: FastifyRequest, prefix: string): string | undefined {
  const offered = request.headers['sec-websocket-protocol'];
  if (typeof offered !== 'string') return undefined;
  for (const protocol of offered.split(',')) {
    const trimmed = protocol.trim();
    if (trimmed.startsWith(prefix) && trimmed.length > prefix.length) return trimmed.slice(prefix.length);
  }
  return undefined;
}

/**
 * A text frame's payload encoded once: `ws` turns a string into a new Buffer on every `send`, so
 * a diff for a thousand clients is serialised and UTF-8 encoded once and the same bytes are
 * written to every socket (sent with `binary: false`, still a text frame).
 */
const encodeMessage = (message: object): Buffer => Buffer.from(JSON.stringify(message));
const diffMessage = (dormitories: readonly DormitoryLiveState[]): Buffer => encodeMessage({ type: 'diff', dormitories });
const deltaMessage = (dormitories: readonly DormitoryDelta[]): Buffer => encodeMessage({ type: 'delta', dormitories });

async function liveWebSocketPlugin(app: FastifyInstance, options: LiveWebSocketOptions): Promise<void> {
  const { feed, context } = options;
  const highWaterMarkBytes = options.highWaterMarkBytes ?? DEFAULT_HIGH_WATER_MARK_BYTES;
  const pingIntervalMs = options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS;
  const stallTimeoutMs = options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
  const maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
  const fanOutChunk = Math.max(1, options.fanOutChunk ?? DEFAULT_FAN_OUT_CHUNK);
  const metrics = options.metrics;
  // Clients send nothing but pongs; a small frame limit keeps a hostile client cheap.
  if (!app.hasDecorator('websocketServer')) await app.register(websocket, { options: { maxPayload: 4096 } });

  const clients = new Set<LiveClient>();
  /** Wall displays resolved before the upgrade: their token and what their snapshot carries. */
  const displays = new WeakMap<FastifyRequest, { credential: Credential & { kind: 'display' }; name: string; context: DisplayContext }>();
  /** Latest state of every dormitory seen in a diff: what a drained slow client is sent. */
  const latest = new Map<string, DormitoryLiveState>();
  /** Each dormitory's alarm count as of its last diff (a state is refreshed in place, so the count is kept apart to tell a change). */
  const alarmCounts = new Map<string, number>();
  /**
   * What the delta clients hold: every dormitory as of the last flush, kept only while a delta
   * client is open (seeded from the feed when the first one connects, `publishedInStep` false when
   * none is left at a flush).
   */
  const published = new PublishedStates();
  let publishedInStep = false;
  let deltaClients = 0;
  let nextClientId = 1;
  let diffSerialisations = 0;
  let feedCalls = 0;
  const dropped: Record<LiveClientDropReason, number> = { stalled: 0, buffer_limit: 0, keepalive: 0 };
  metrics?.liveClients.reset();

  /** Terminates the socket (a close frame would queue behind the bytes it never reads) and counts why. */
  const drop = (client: LiveClient, reason: LiveClientDropReason): void => {
    if (clients.delete(client)) metrics?.liveClients.dec();
    dropped[reason]++;
    metrics?.liveClientsDropped.inc({ reason });
    client.socket.terminate();
  };

  const send = (client: LiveClient, payload: Buffer): void => {
    client.messagesSent++;
    // The callback fires once the frame has left the process buffer: the moment to check
    // whether a slow client has drained.
    client.socket.send(payload, { binary: false }, (error) => {
      if (!error) flushIfDrained(client);
    });
    if (client.socket.bufferedAmount > maxBufferedBytes) drop(client, 'buffer_limit');
  };

  const isSlow = (client: LiveClient): boolean => client.socket.bufferedAmount > highWaterMarkBytes;

  /**
   * Whether the client is above the mark; drops it (and answers true) once it has been above
   * for `stallTimeoutMs` in a row: a client that stopped reading is not kept at the mark forever.
   */
  function slowOrStalled(client: LiveClient, now: number): boolean {
    if (!isSlow(client)) {
      client.slowSince = undefined;
      return false;
    }
    client.slowSince ??= now;
    if (now - client.slowSince >= stallTimeoutMs) drop(client, 'stalled');
    return true;
  }
  /** Sends the latest state of the client's dirty dormitories once its buffer is below the mark. */
  function flushIfDrained(client: LiveClient): void {
    if (client.dirty.size === 0 || isSlow(client) || client.socket.readyState !== client.socket.OPEN) return;
    const states: DormitoryLiveState[] = [];
    for (const id of client.dirty) {
      const state = latest.get(id);
      if (state) states.push(state);
    }
    client.dirty.clear();
    if (states.length === 0) return;
    send(client, diffMessage(states));
    // Sent between flushes: newer than the published states its next deltas would be taken against.
    if (client.format === 'delta') client.wholeNext = true;
  }

  /** One flush's delivery: every payload serialised when the flush came, sent a chunk of clients a turn. */
  interface FanOut {
    readonly clients: readonly LiveClient[];
    next: number;
    readonly relevant: (scope: Scope) => Changes | undefined;
    /** Whole states, serialised for the scopes where a client reads them. */
    readonly payloads: ReadonlyMap<string, Buffer>;
    readonly deltaPayloads: ReadonlyMap<string, Buffer | undefined>;
  }
  let fanOut: FanOut | undefined;
  let fanOutTurn: NodeJS.Immediate | undefined;

  /** One client's share of a flush: held as dirty ids while it is slow, else its scope's payload. */
  function deliver(client: LiveClient, plan: FanOut, now: number): void {
    if (client.socket.readyState !== client.socket.OPEN) return;
    const changes = plan.relevant(client.scope);
    if (!changes || changes.states.length === 0) return;
    const states = changes.states;
    if (slowOrStalled(client, now)) {
      client.diffsHeld++;
      for (const state of states) client.dirty.add(state.id);
      return;
    }
    // A client that was slow and is back under the mark first catches up on what it missed (the
    // states as they are now, in a later turn maybe newer than this flush's: a delta client then
    // stays whole for one more flush).
    const caughtUp = client.dirty.size > 0;
    if (caughtUp) {
      for (const state of states) client.dirty.delete(state.id);
      flushIfDrained(client);
    }
    if (client.format === 'delta' && !client.wholeNext) {
      const payload = plan.deltaPayloads.get(client.scopeKey);
      if (payload) send(client, payload);
      return;
    }
    const planned = plan.payloads.get(client.scopeKey);
    if (planned) {
      send(client, planned);
      if (!caughtUp) client.wholeNext = false;
      return;
    }
    // It caught up between the plan and its turn: the states now, whole (newer than the published
    // ones its next delta is taken against, so it stays whole for one more flush).
    send(client, diffMessage(changes.states));
    diffSerialisations++;
  }

  /**
   * Sends the flush in progress to its next `fanOutChunk` clients (all of them with `all`): a
   * thousand sockets' writes in one turn held the event loop for 20 ms at 20,000 meters, and
   * readings waited behind them. A flush always ends before the next one starts (a delta client
   * must get every delta in order).
   */
  function continueFanOut(all = false): void {
    fanOutTurn = undefined;
    const plan = fanOut;
    if (!plan) return;
    const now = Date.now(); // wall time, as the keepalive: it is about TCP peers
    const until = all ? plan.clients.length : Math.min(plan.clients.length, plan.next + fanOutChunk);
    while (plan.next < until) deliver(plan.clients[plan.next++]!, plan, now);
    if (plan.next < plan.clients.length) fanOutTurn = setImmediate(continueFanOut);
    else fanOut = undefined;
  }

  const unsubscribe = feed.subscribe((changed) => {
    feedCalls++;
    if (changed.length === 0) return;
    if (fanOutTurn) clearImmediate(fanOutTurn);
    continueFanOut(true);
    let alarmsChanged = false;
    for (const state of changed) {
      if (alarmCounts.get(state.id) !== state.activeAlarms) alarmsChanged = true;
      alarmCounts.set(state.id, state.activeAlarms);
      latest.set(state.id, state);
    }
    if (alarmsChanged) refreshWallAlarms();
    if (deltaClients === 0) publishedInStep = false;
    if (clients.size === 0) return;

    // Group once per call; serialise once per scope (and format) that has a client in it, now:
    // the states are refreshed in place, and every client of a flush must get the same state.
    const byBuilding = new Map<string, Changes>();
    const byId = new Map<string, Changes>();
    const all: Changes = { states: changed, deltas: [] };
    for (const state of changed) {
      const delta = publishedInStep ? published.publish(state) : undefined;
      if (delta) all.deltas.push(delta);
      byId.set(state.id, { states: [state], deltas: delta ? [delta] : [] });
      const group = byBuilding.get(state.building);
      if (group) {
        (group.states as DormitoryLiveState[]).push(state);
        if (delta) group.deltas.push(delta);
      } else byBuilding.set(state.building, { states: [state], deltas: delta ? [delta] : [] });
    }
    const relevant = (scope: Scope): Changes | undefined => {
      switch (scope.kind) {
        case 'campus':
          return all;
        case 'building':
          return byBuilding.get(scope.building);
        case 'dormitory':
          return byId.get(scope.dormitoryId);
      }
    };
    const payloads = new Map<string, Buffer>();
    const deltaPayloads = new Map<string, Buffer | undefined>();
    const open: LiveClient[] = [];
    for (const client of clients) {
      if (client.socket.readyState !== client.socket.OPEN) continue;
      const changes = relevant(client.scope);
      if (!changes || changes.states.length === 0) continue;
      open.push(client);
      // Whole states only for a scope where someone reads them (a delta client in step reads none).
      const wantsWhole = client.format === 'full' || client.wholeNext || client.dirty.size > 0;
      if (wantsWhole && !payloads.has(client.scopeKey)) {
        payloads.set(client.scopeKey, diffMessage(changes.states));
        diffSerialisations++;
      }
      if (client.format === 'delta' && !deltaPayloads.has(client.scopeKey)) {
        const payload = changes.deltas.length > 0 ? deltaMessage(changes.deltas) : undefined;
        deltaPayloads.set(client.scopeKey, payload);
        if (payload) diffSerialisations++;
      }
    }
    fanOut = { clients: open, next: 0, relevant, payloads, deltaPayloads };
    continueFanOut();
  });

  /**
   * Sends each wall display the active critical alarms of its scope (`{"type":"alarms"}`) when
   * they differ from what it was last sent: after its snapshot, when a room's alarm count moves
   * in the feed, and on every keepalive tick (an alarm of no room, a release on another node).
   * One query per scope; one run at a time (a request during a run makes one more run).
   */
  let refreshingAlarms: Promise<void> | undefined;
  let refreshAlarmsAgain = false;
  function refreshWallAlarms(): void {
    if (refreshingAlarms) {
      refreshAlarmsAgain = true;
      return;
    }
    const walls = [...clients].filter((c) => c.credential.kind === 'display');
    if (walls.length === 0) return;
    refreshingAlarms = (async () => {
      const byScope = new Map<string, Promise<string>>();
      for (const client of walls) {
        const scope = client.scope;
        if (!byScope.has(client.scopeKey)) byScope.set(client.scopeKey, wallAlarms(context.db, scope.kind === 'building' ? scope.building : undefined).then(wallAlarmsMessage));
      }
      for (const client of walls) {
        const payload = await byScope.get(client.scopeKey)!;
        if (payload === client.alarmsSent || client.socket.readyState !== client.socket.OPEN) continue;
        client.alarmsSent = payload;
        send(client, Buffer.from(payload));
      }
    })()
      .catch((error: unknown) => context.log.warn({ err: error }, 'live feed: wall alarms could not be read; the next tick retries'))
      .finally(() => {
        refreshingAlarms = undefined;
        if (refreshAlarmsAgain) {
          refreshAlarmsAgain = false;
          refreshWallAlarms();
        }
      });
  }

  /**
   * Closes (4401) every socket whose session no longer stands: deleted, expired, its user
   * disabled, or its role or dormitory changed (the client reconnects with its new rights).
   * One query for all clients; runs when a route ends sessions and on every keepalive tick,
   * one at a time (a request during a run makes one more run).
   */
  let checking: Promise<void> | undefined;
  let checkAgain = false;
  const checkSessions = (): void => {
    if (checking) {
      checkAgain = true;
      return;
    }
    if (clients.size === 0) return;
    checking = (async () => {
      const open = [...clients];
      const hashesOf = (kind: Credential['kind']) => [...new Set(open.filter((c) => c.credential.kind === kind).map((c) => c.credential.tokenHash))];
      const [valid, walls] = await Promise.all([
        findSessionOperators(context.db, hashesOf('session'), new Date()), // sessions are wall-clock
        liveDisplayTokens(context.db, hashesOf('display')),
      ]);
      for (const client of open) {
        const credential = client.credential;
        if (credential.kind === 'display') {
          if (walls.has(credential.tokenHash)) continue;
          if (clients.delete(client)) metrics?.liveClients.dec();
          client.socket.close(LIVE_CLOSE_CODES.unauthenticated, DISPLAY_REVOKED_REASON);
          continue;
        }
        const operator = valid.get(credential.tokenHash);
        if (operator && operator.role === credential.role && operator.dormitoryId === credential.dormitoryId) continue;
        if (clients.delete(client)) metrics?.liveClients.dec();
        client.socket.close(LIVE_CLOSE_CODES.unauthenticated, SESSION_ENDED_REASON);
      }
    })()
      .catch((error: unknown) => context.log.warn({ err: error }, 'live feed: session re-check failed; the next tick retries'))
      .finally(() => {
        checking = undefined;
        if (checkAgain) {
          checkAgain = false;
          checkSessions();
        }
      });
  };
  const unsubscribeSessionEndings = app.sessionEndings.subscribe(checkSessions);

  // Keepalive runs on wall time, not the injected clock: it is about TCP peers, not the
  // campus, and a simulated clock at 3600x must not ping browsers 3600 times faster. The tick
  // also retries flushing slow clients in case no send callback was left to do it.
  const keepalive = setInterval(() => {
    const now = Date.now();
    for (const client of clients) {
      if (!client.alive) {
        drop(client, 'keepalive');
        continue;
      }
      if (slowOrStalled(client, now) && !clients.has(client)) continue;
      client.alive = false;
      client.socket.ping();
      flushIfDrained(client);
    }
    checkSessions();
    refreshWallAlarms();
  }, pingIntervalMs);
  keepalive.unref();

  // Job progress is small and rare (about a hundred messages a job): sent as is to every
  // staff client that is not slow; a slow one misses intermediate progress, never the end
  // (GET /api/jobs/:id has it too).
  const unsubscribeJobs = options.jobs?.subscribe((job) => {
    let payload: Buffer | undefined;
    for (const client of clients) {
      if (client.scope.kind === 'dormitory' || client.credential.kind === 'display' || client.socket.readyState !== client.socket.OPEN) continue;
      if (isSlow(client) && job.state !== 'done' && job.state !== 'failed') continue;
      payload ??= encodeMessage({ type: 'job', job });
      send(client, payload);
    }
  });

  app.addHook('onClose', async () => {
    clearInterval(keepalive);
    if (fanOutTurn) clearImmediate(fanOutTurn);
    fanOut = undefined;
    unsubscribeSessionEndings();
    await checking;
    await refreshingAlarms;
    unsubscribe();
    unsubscribeJobs?.();
    for (const client of clients) client.socket.terminate();
    clients.clear();
    metrics?.liveClients.reset();
  });

  app.decorate('liveWebSocketStats', (): LiveWebSocketStats => ({
    clients: [...clients].map((c) => ({
      id: c.id,
      operator: c.operator,
      scope: c.scopeKey,
      format: c.format,
      pending: c.dirty.size,
      bufferedAmount: c.socket.bufferedAmount,
      slow: isSlow(c),
      messagesSent: c.messagesSent,
      diffsHeld: c.diffsHeld,
    })),
    diffSerialisations,
    feedCalls,
    dropped: { ...dropped },
  }));

  app.get(
    '/ws/live',
    {
      websocket: true,
      schema: { querystring: Query },
      // Resolve the session before the upgrade completes, so the handler below is synchronous
      // and subscribes in the same tick as it takes the snapshot (no change can slip between).
      preValidation: async (request) => {
        if (request.operator) return;
        const displayToken = subprotocolValue(request, 'display.');
        if (displayToken) {
          const hash = displayTokenHash(displayToken);
          const wall = (await liveDisplayTokens(context.db, [hash])).get(hash);
          if (!wall) return;
          const buildings = (await listBuildings(context.db)).filter((b) => b.retiredAt === null);
          const timeZone = buildings[0] ? await buildingTimeZone(context.db, buildings[0].id) : 'Asia/Shanghai';
          displays.set(request, {
            credential: { kind: 'display', tokenHash: hash, displayTokenId: wall.id },
            name: wall.name,
            context: { buildings: buildings.map((b) => ({ id: b.id, name: b.name })), timeZone },
          });
          return;
        }
        const token = tokenOf(request);
        if (!token) return;
        const hash = tokenHash(token);
        request.operator = await findSessionOperator(context.db, hash, new Date()); // sessions are wall-clock
        if (request.operator) request.sessionTokenHash = hash;
      },
    },
    (socket, request) => {
      const operator: Operator | undefined = request.operator;
      const sessionTokenHash = request.sessionTokenHash;
      const display = displays.get(request);
      const { building, format = 'full' } = request.query as Static<typeof Query>;
      let scope: Scope;
      let credential: Credential;
      if (display) {
        // A wall display watches the campus or one building, read-only.
        credential = display.credential;
        scope = building ? { kind: 'building', building } : { kind: 'campus' };
      } else if (!operator || !sessionTokenHash) {
        socket.close(LIVE_CLOSE_CODES.unauthenticated, 'a valid session or display token is required');
        return;
      } else if (operator.role === 'student') {
        if (!operator.dormitoryId) {
          socket.close(LIVE_CLOSE_CODES.forbidden, 'this student has no dormitory');
          return;
        }
        // Students see only their own dormitory, whatever building they ask for.
        scope = { kind: 'dormitory', dormitoryId: operator.dormitoryId };
        credential = { kind: 'session', tokenHash: sessionTokenHash, role: operator.role, dormitoryId: operator.dormitoryId };
      } else {
        scope = building ? { kind: 'building', building } : { kind: 'campus' };
        credential = { kind: 'session', tokenHash: sessionTokenHash, role: operator.role, dormitoryId: operator.dormitoryId };
      }
      const client: LiveClient = {
        id: nextClientId++,
        socket,
        operator: display ? `display:${display.credential.displayTokenId}` : (operator?.username ?? ''),
        credential,
        scope,
        scopeKey: scopeKeyOf(scope),
        format,
        wholeNext: format === 'delta',
        dirty: new Set(),
        alive: true,
        slowSince: undefined,
        messagesSent: 0,
        diffsHeld: 0,
      };
      let snapshot: readonly DormitoryLiveState[];
      switch (scope.kind) {
        case 'campus':
          snapshot = feed.snapshot();
          break;
        case 'building':
          snapshot = feed.snapshot(scope.building);
          break;
        case 'dormitory':
          snapshot = feed.snapshot().filter((d) => d.id === scope.dormitoryId);
          break;
      }
      clients.add(client);
      metrics?.liveClients.inc();
      if (format === 'delta') {
        deltaClients++;
        // The first delta client: the published states start from the feed as it is now (its
        // dirty dormitories are in the next flush, which every delta client open now gets whole).
        if (!publishedInStep) published.seed(feed.snapshot());
        publishedInStep = true;
      }
      socket.on('pong', () => {
        client.alive = true;
      });
      socket.on('close', () => {
        if (format === 'delta') deltaClients--;
        if (clients.delete(client)) metrics?.liveClients.dec();
      });
      // Anything a client sends is ignored: the feed is one-way.
      // A wall display also gets the building names and the campus time zone it cannot ask REST for.
      send(client, encodeMessage({ type: 'snapshot', scope: client.scopeKey, dormitories: snapshot, ...(display ? { display: { name: display.name, ...display.context } } : {}) }));
      // ...and the critical alarms for its ticker, which it cannot ask REST for either.
      if (display) refreshWallAlarms();
    },
  );
}

export default fp(liveWebSocketPlugin, { name: 'live-websocket', dependencies: ['auth'] });
