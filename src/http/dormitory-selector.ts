import { Type, type Static } from 'typebox';
import type { DormitorySelector } from '../db/tariff.repository.ts';
import { DomainError } from '../errors.ts';

/** Which dormitories an assignment (a tariff, a quota policy) or a dry-run names. */
export const AssignBody = Type.Object(
  {
    building: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    floor: Type.Optional(Type.Integer({ minimum: -5, maximum: 200 })),
    dormitoryIds: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 10_000 })),
  },
  { additionalProperties: false, description: 'Either a building (optionally one floor of it) or a list of dormitories' },
);

/** A building (and floor) or a list of dormitories, never both; `prefix` names the body field. */
export function selectorOf(body: Static<typeof AssignBody>, prefix: string): DormitorySelector {
  if (body.dormitoryIds !== undefined && (body.building !== undefined || body.floor !== undefined)) throw new DomainError('VALIDATION_FAILED', 'give either a building (and floor) or dormitoryIds, not both', `${prefix}dormitoryIds`);
  if (body.dormitoryIds !== undefined) return { dormitoryIds: body.dormitoryIds };
  if (body.building === undefined) throw new DomainError('VALIDATION_FAILED', 'a building (and optionally a floor) or dormitoryIds is required', `${prefix}building`);
  return { building: body.building, floor: body.floor };
}

/** The same scope as one of two exact shapes (a building and floor, or a list), for routes that take nothing else. */
export const ScopeBody = Type.Union(
  [
    Type.Object({ building: Type.String({ minLength: 1, maxLength: 64 }), floor: Type.Optional(Type.Integer({ minimum: -5, maximum: 200 })) }, { additionalProperties: false }),
    Type.Object({ dormitoryIds: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 10_000 }) }, { additionalProperties: false }),
  ],
  { description: 'A building (optionally one floor of it) or a list of dormitories' },
);

export function scopeOf(body: Static<typeof ScopeBody>): DormitorySelector {
  return 'dormitoryIds' in body ? { dormitoryIds: body.dormitoryIds } : { building: body.building, floor: body.floor };
}
