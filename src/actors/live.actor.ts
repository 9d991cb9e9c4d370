import type { DormitoryLiveState } from '../live/live-feed.ts';
import type { ActorDeps } from './actor-deps.ts';
import { resumeOnCrash } from './actor-deps.ts';
import type { LiveHub } from './live-hub.ts';
import { spawnActor, type Ref } from './nact.ts';

export type LiveMsg = { readonly type: 'DormitoryUpdated'; readonly state: DormitoryLiveState } | { readonly type: 'DormitoryRemoved'; readonly id: string };

/** `live`: coalesces dormitory state changes into diffs for WebSocket clients. */
export function spawnLive(parent: Ref<unknown>, deps: ActorDeps, hub: LiveHub): Ref<LiveMsg> {
  return spawnActor(
    parent,
    (state: LiveHub, msg: LiveMsg): LiveHub => {
      switch (msg.type) {
        case 'DormitoryUpdated':
          state.update(msg.state);
          break;
        case 'DormitoryRemoved':
          state.remove(msg.id);
          break;
      }
      return state;
    },
    'live',
    { initialState: hub, onCrash: resumeOnCrash(deps, 'live') },
  );
}
