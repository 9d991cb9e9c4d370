import { zoneKeyOf } from '../domain/local-time.ts';
import type { CampusPolicyTopology, DormitoryTopology, GatewayTopology } from '../db/topology.repository.ts';
import type { ControlSnapshot } from '../domain/control-state.ts';
import type { GatewayDriver, GatewayDriverListener } from '../drivers/gateway-driver.ts';
import type { ActorDeps } from './actor-deps.ts';
import { resumeOnCrash } from './actor-deps.ts';
import { spawnDormitory, type DormitoryMsg } from './dormitory.actor.ts';
import { spawnGateway, type GatewayMsg } from './gateway.actor.ts';
import type { LedgerMsg } from './ledger.actor.ts';
import type { LiveMsg } from './live.actor.ts';
import { dispatch, spawnActor, stop, type Ref } from './nact.ts';

/**
 * Where the HTTP layer finds live actors. Written only by the campus actor (single writer);
 * read by queries. It exists so that a request never makes the campus actor, with its
 * thousands of children, handle a message (and queue behind its own work).
 */
export class ActorDirectory {
  /** `zoneKey`: the campus zone the dormitory was spawned with (its schedule, days and months follow it; `zoneKeyOf`). */
  readonly dormitories = new Map<string, { readonly ref: Ref<DormitoryMsg>; topology: DormitoryTopology; readonly zoneKey: string }>();
  readonly gateways = new Map<string, { ref: Ref<GatewayMsg>; topology: GatewayTopology }>();
}

export type CampusMsg =
  | { readonly type: 'AddGateway'; readonly gateway: GatewayTopology; readonly deferStart?: boolean; readonly replyTo?: Ref<CampusChanged> }
  /** Answered after every message sent before it (boot: all AddDormitory handled, every meter spawned). */
  | { readonly type: 'Settle'; readonly replyTo: Ref<CampusChanged> }
  | { readonly type: 'RemoveGateway'; readonly gatewayId: string; readonly replyTo?: Ref<CampusChanged> }
  | {
      readonly type: 'AddDormitory';
      readonly dormitory: DormitoryTopology;
      readonly policy: CampusPolicyTopology;
      /** Restored before the dormitory's actors act (src/domain/control-state.ts). */
      readonly control: ControlSnapshot;
      readonly activeAlarms: number;
      readonly replyTo?: Ref<CampusChanged>;
    }
  | { readonly type: 'RemoveDormitory'; readonly dormitoryId: string; readonly replyTo?: Ref<CampusChanged> };

export interface CampusChanged {
  readonly type: 'CampusChanged';
  readonly ok: boolean;
  readonly detail: string;
}

export interface CampusProps {
  readonly directory: ActorDirectory;
  readonly ledger: Ref<LedgerMsg>;
  readonly live: Ref<LiveMsg>;
  readonly createDriver: (gateway: GatewayTopology, listener: GatewayDriverListener) => GatewayDriver;
  readonly releaseDriver: (gatewayId: string) => void;
}

/**
 * `campus`: the supervisor. Spawns gateways and dormitories (which spawn their meters and
 * circuits) and changes the live tree when the API adds or removes them, without a restart.
 */
export function spawnCampus(parent: Ref<unknown>, props: CampusProps, deps: ActorDeps): Ref<CampusMsg> {
  const reply = (to: Ref<CampusChanged> | undefined, ok: boolean, detail: string) => to && dispatch(to, { type: 'CampusChanged', ok, detail });
  return spawnActor<null, CampusMsg>(
    parent,
    (state, msg, ctx) => {
      const self = ctx.self as Ref<unknown>;
      switch (msg.type) {
        case 'AddGateway': {
          if (props.directory.gateways.has(msg.gateway.id)) {
            reply(msg.replyTo, false, `gateway ${msg.gateway.id} is already running`);
            return state;
          }
          let ref: Ref<GatewayMsg>;
          try {
            ref = spawnGateway(
              self,
              { gatewayId: msg.gateway.id, protocol: msg.gateway.protocol, ledger: props.ledger, createDriver: (listener) => props.createDriver(msg.gateway, listener), deferStart: msg.deferStart === true },
              deps,
            );
          } catch (error) {
            // A gateway whose driver cannot be built (a bad address) is refused with the reason, not a crash and a silent timeout.
            reply(msg.replyTo, false, error instanceof Error ? error.message : String(error));
            return state;
          }
          props.directory.gateways.set(msg.gateway.id, { ref, topology: msg.gateway });
          reply(msg.replyTo, true, 'gateway started');
          return state;
        }
        case 'RemoveGateway': {
          const entry = props.directory.gateways.get(msg.gatewayId);
          if (entry) {
            stop(entry.ref);
            props.directory.gateways.delete(msg.gatewayId);
            props.releaseDriver(msg.gatewayId);
          }
          reply(msg.replyTo, entry !== undefined, entry ? 'gateway stopped' : 'not running');
          return state;
        }
        case 'AddDormitory': {
          if (props.directory.dormitories.has(msg.dormitory.id)) {
            reply(msg.replyTo, false, `dormitory ${msg.dormitory.id} is already running`);
            return state;
          }
          const meters = [];
          for (const m of msg.dormitory.meters) {
            const gateway = props.directory.gateways.get(m.gatewayId);
            if (!gateway) {
              deps.log.warn({ dormitory: msg.dormitory.id, meter: m.meterId, gateway: m.gatewayId }, 'meter behind an unknown gateway is not started');
              continue;
            }
            meters.push({ meterId: m.meterId, kind: m.kind, dormitoryId: msg.dormitory.id, unitAddress: m.unitAddress, profile: m.profile, targets: m.targets, pricing: m.pricing, tariffProblem: m.tariffProblem, cursor: m.cursor, activeHolds: m.activeHolds, gateway: gateway.ref, rules: msg.dormitory.rules });
          }
          const ref = spawnDormitory(
            self,
            {
              id: msg.dormitory.id,
              building: msg.dormitory.building,
              floor: msg.dormitory.floor,
              room: msg.dormitory.room,
              balance: msg.dormitory.balance,
              balanceThroughEntry: msg.dormitory.balanceThroughEntry,
              policy: { arrears: msg.policy.arrears, waterArrearsCutsElectricity: msg.policy.waterArrearsCutsElectricity },
              meters,
              rules: msg.dormitory.rules,
              holidayOff: msg.dormitory.holidayOff,
              zone: msg.policy.zone,
              ledger: props.ledger,
              live: props.live,
              control: msg.control,
              activeAlarms: msg.activeAlarms,
              billing: msg.dormitory.billing,
            },
            deps,
          );
          props.directory.dormitories.set(msg.dormitory.id, { ref, topology: msg.dormitory, zoneKey: zoneKeyOf(msg.policy.zone) });
          reply(msg.replyTo, true, 'dormitory started');
          return state;
        }
        case 'Settle':
          reply(msg.replyTo, true, 'settled');
          return state;
        case 'RemoveDormitory': {
          const entry = props.directory.dormitories.get(msg.dormitoryId);
          if (entry) {
            for (const m of entry.topology.meters) {
              const gateway = props.directory.gateways.get(m.gatewayId);
              if (gateway) dispatch(gateway.ref, { type: 'DetachMeter', unitAddress: m.unitAddress });
            }
            stop(entry.ref);
            props.directory.dormitories.delete(msg.dormitoryId);
            dispatch(props.live, { type: 'DormitoryRemoved', id: msg.dormitoryId });
          }
          reply(msg.replyTo, entry !== undefined, entry ? 'dormitory stopped' : 'not running');
          return state;
        }
      }
      return state;
    },
    'campus',
    { initialState: null, onCrash: resumeOnCrash(deps, 'campus') },
  );
}
