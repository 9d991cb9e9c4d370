import { WebSocket } from 'ws';
import type { FromLiveClients, ToLiveClients } from './live-clients-protocol.ts';

/**
 * The e2e bench's live-feed clients, in their own process (`fork`ed by bench/e2e/run-e2e.ts): N
 * WebSocket clients on the campus feed, as control-room screens are, and one stalled client that
 * takes its snapshot and then never reads again (the server must drop it, not buffer for it).
 * Every client reads every frame; about 20 of them (spread over the connection order, since the
 * server writes to clients in that order) also parse each diff and time reading -> client.
 */

interface DormitoryDiff {
  readonly id: string;
  readonly lastReadingAt?: number | null;
}

const SAMPLED = 20;
const sockets: WebSocket[] = [];
let open = 0;
let closed = 0;
const closeCodes: Record<string, number> = {};
let messages = 0;
let bytes = 0;
let latencyMs: number[] = [];
let sampledClients = 0;
let stalled: { socket: WebSocket; pausedAt: number | undefined } | undefined;

const send = (message: FromLiveClients) => process.send?.(message);

function openClient(wsUrl: string, token: string, sampled: boolean, building: string | undefined, format: 'full' | 'delta'): Promise<WebSocket> {
  const socket = new WebSocket(`${wsUrl}/ws/live?format=${format}${building === undefined ? '' : `&building=${encodeURIComponent(building)}`}`, ['campus-live', `bearer.${token}`]);
  const seen = new Map<string, number>();
  let first = true;
  socket.on('error', () => undefined);
  socket.on('message', (data: Buffer) => {
    const arrivedAt = Date.now();
    if (first) {
      first = false; // the snapshot: not a diff
      return;
    }
    messages++;
    bytes += data.length;
    if (!sampled) return;
    const message = JSON.parse(data.toString()) as { type: string; dormitories?: readonly DormitoryDiff[] };
    if ((message.type !== 'diff' && message.type !== 'delta') || !message.dormitories) return;
    for (const d of message.dormitories) {
      // A delta names lastReadingAt only when it changed.
      if (d.lastReadingAt === null || d.lastReadingAt === undefined) continue;
      const previous = seen.get(d.id);
      if (previous !== undefined && d.lastReadingAt > previous) latencyMs.push(arrivedAt - d.lastReadingAt);
      seen.set(d.id, d.lastReadingAt);
    }
  });
  // A client counts as open once it has its snapshot: the server authenticates after the
  // upgrade, so a refused client is open for a moment before its 4401.
  return new Promise((resolve, reject) => {
    let counted = false;
    socket.once('message', () => {
      counted = true;
      open++;
      resolve(socket);
    });
    socket.once('close', (code) => {
      if (counted) open--;
      closed++;
      closeCodes[code] = (closeCodes[code] ?? 0) + 1;
      resolve(socket);
    });
    socket.once('unexpected-response', (_request, response) => reject(new Error(`live client: HTTP ${response.statusCode}`)));
  });
}

async function start(wsUrl: string, token: string, clients: number, buildings: readonly string[], format: 'full' | 'delta'): Promise<void> {
  if (!token) throw new Error('no bearer token: every client would be closed with 4401');
  const every = Math.max(1, Math.floor(clients / SAMPLED));
  // Opened 50 at a time: a thousand upgrades at once is a connection storm, not the steady state.
  for (let i = 0; i < clients; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, clients - i) }, (_, k) => {
        const sampled = (i + k) % every === 0;
        if (sampled) sampledClients++;
        return openClient(wsUrl, token, sampled, buildings.length > 0 ? buildings[(i + k) % buildings.length] : undefined, format);
      }),
    );
    sockets.push(...batch);
  }
  const socket = new WebSocket(`${wsUrl}/ws/live`, ['campus-live', `bearer.${token}`]);
  const own: NonNullable<typeof stalled> = { socket, pausedAt: undefined };
  stalled = own;
  socket.on('error', () => undefined);
  socket.once('message', () => {
    socket.pause(); // reads nothing more, answers no ping: the kernel buffers fill, then the server's
    own.pausedAt = Date.now();
  });
}

process.on('message', (raw) => {
  const message = raw as ToLiveClients;
  switch (message.type) {
    case 'start':
      void start(message.wsUrl, message.token, message.clients, message.buildings, message.format).then(
        () => send({ type: 'started', open }),
        (error: unknown) => {
          console.error(`live clients: ${String(error)}`);
          send({ type: 'started', open });
        },
      );
      break;
    case 'report': {
      send({
        type: 'report',
        open,
        closed,
        closeCodes: { ...closeCodes },
        messages,
        bytes,
        latencyMs,
        sampledClients,
        stalledSinceMs: stalled?.pausedAt === undefined ? null : Date.now() - stalled.pausedAt,
      });
      messages = 0;
      bytes = 0;
      latencyMs = [];
      break;
    }
    case 'stop':
      for (const socket of sockets) socket.terminate();
      stalled?.socket.terminate();
      send({ type: 'stopped' });
      break;
  }
});
