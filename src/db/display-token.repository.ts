import type { Executor } from './executor.ts';

/** A wall display token as listed: never its hash. */
export interface DisplayToken {
  readonly id: number;
  readonly name: string;
  readonly issuedBy: string;
  readonly issuedAt: Date;
  readonly revokedAt: Date | null;
  readonly revokedBy: string | null;
}

const columns = ['id', 'name', 'issued_by', 'issued_at', 'revoked_at', 'revoked_by'] as const;
const toDisplayToken = (r: { id: number; name: string; issued_by: string; issued_at: Date; revoked_at: Date | null; revoked_by: string | null }): DisplayToken => ({
  id: Number(r.id),
  name: r.name,
  issuedBy: r.issued_by,
  issuedAt: new Date(r.issued_at),
  revokedAt: r.revoked_at === null ? null : new Date(r.revoked_at),
  revokedBy: r.revoked_by,
});

export async function insertDisplayToken(db: Executor, token: { name: string; tokenHash: string; issuedBy: string; issuedAt: Date }): Promise<DisplayToken> {
  const row = await db.insertInto('display_tokens').values({ name: token.name, token_hash: token.tokenHash, issued_by: token.issuedBy, issued_at: token.issuedAt }).returning(columns).executeTakeFirstOrThrow();
  return toDisplayToken(row);
}

export async function listDisplayTokens(db: Executor): Promise<DisplayToken[]> {
  return (await db.selectFrom('display_tokens').select(columns).orderBy('id').execute()).map(toDisplayToken);
}

export async function findDisplayToken(db: Executor, id: number): Promise<DisplayToken | undefined> {
  const row = await db.selectFrom('display_tokens').select(columns).where('id', '=', id).executeTakeFirst();
  return row && toDisplayToken(row);
}

/** Revokes a token that is not revoked yet; true when this call revoked it. */
export async function revokeDisplayTokenRow(db: Executor, id: number, by: string, at: Date): Promise<boolean> {
  const result = await db.updateTable('display_tokens').set({ revoked_at: at, revoked_by: by }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** The ids of the tokens among `tokenHashes` that are not revoked, by hash. */
export async function activeDisplayTokens(db: Executor, tokenHashes: readonly string[]): Promise<Map<string, DisplayToken>> {
  if (tokenHashes.length === 0) return new Map();
  const rows = await db
    .selectFrom('display_tokens')
    .select([...columns, 'token_hash'])
    .where('token_hash', 'in', [...tokenHashes])
    .where('revoked_at', 'is', null)
    .execute();
  return new Map(rows.map((row) => [row.token_hash, toDisplayToken(row)]));
}
