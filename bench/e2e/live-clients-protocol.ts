/** The messages between the e2e bench (parent) and its live-feed clients (a child process, IPC). */

export type ToLiveClients =
  /**
   * Open `clients` WebSocket clients on `/ws/live` with the bearer `token`, plus one more that
   * reads its snapshot and then stops reading (`ws.pause()`: the stalled client). With
   * `buildings`, client i watches building i mod their count (a wall display per building);
   * without, every client watches the campus.
   */
  | { readonly type: 'start'; readonly wsUrl: string; readonly token: string; readonly clients: number; readonly buildings: readonly string[]; readonly format: 'full' | 'delta' }
  | { readonly type: 'report' }
  | { readonly type: 'stop' };

export interface LiveClientsReport {
  readonly type: 'report';
  /** Clients connected now (the stalled one not counted). */
  readonly open: number;
  /** Clients closed since the start (the stalled one not counted), and their close codes. */
  readonly closed: number;
  readonly closeCodes: Readonly<Record<string, number>>;
  /** Diff messages and bytes received by all clients since the last report. */
  readonly messages: number;
  readonly bytes: number;
  /**
   * Reading -> client, ms, since the last report: for each dormitory in a diff whose
   * `lastReadingAt` is newer than the client had, arrival (Date.now) minus `lastReadingAt`
   * (the sample time the generator published, same machine clock). From the sampled clients.
   */
  readonly latencyMs: readonly number[];
  readonly sampledClients: number;
  /**
   * How long the stalled client has not read (ms). Whether the server dropped it shows in the
   * server's `campus_live_clients_dropped_total{reason="stalled"}`: a paused client sees no close.
   */
  readonly stalledSinceMs: number | null;
}

export type FromLiveClients = { readonly type: 'started'; readonly open: number } | LiveClientsReport | { readonly type: 'stopped' };
