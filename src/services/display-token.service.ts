import { appendAudit } from '../db/audit.repository.ts';
import { activeDisplayTokens, findDisplayToken, insertDisplayToken, listDisplayTokens, revokeDisplayTokenRow, type DisplayToken } from '../db/display-token.repository.ts';
import type { Executor } from '../db/executor.ts';
import type { Kysely } from 'kysely';
import type { Database } from '../db/database.ts';
// A display token is 32 random bytes stored as its SHA-256, exactly like a gateway secret
// (src/domain/gateway-secret.ts says why a fast hash is right for 256 random bits).
import { hashGatewaySecret as hashSecret, newGatewaySecret as newSecret } from '../domain/gateway-secret.ts';
import { DomainError } from '../errors.ts';

/**
 * Wall display tokens (docs/websocket.md, "Wall displays"): an admin mints one per screen; it is
 * long-lived (no expiry: a wall runs for months) and read-only: the live WebSocket accepts it
 * (`display.<token>` subprotocol) and no other route does, because sessions are looked up in
 * `sessions` only. The token is shown once; only its hash is kept. Revoking is audited and
 * closes the screen's open feed.
 */
export const DISPLAY_TOKEN_PREFIX = 'wall_';

export interface MintedDisplayToken extends DisplayToken {
  /** Shown this once. */
  readonly token: string;
}

export async function mintDisplayToken(db: Kysely<Database>, name: string, operator: string, issuedAt: Date): Promise<MintedDisplayToken> {
  const token = DISPLAY_TOKEN_PREFIX + newSecret();
  const minted = await db.transaction().execute(async (trx) => {
    const row = await insertDisplayToken(trx, { name, tokenHash: displayTokenHash(token), issuedBy: operator, issuedAt });
    await appendAudit(trx, { operator, action: 'display_token.mint', targetType: 'display_token', targetId: String(row.id), details: { name } });
    return row;
  });
  return { ...minted, token };
}

export async function revokeDisplayToken(db: Kysely<Database>, id: number, operator: string, at: Date): Promise<DisplayToken> {
  return db.transaction().execute(async (trx) => {
    const existing = await findDisplayToken(trx, id);
    if (!existing) throw new DomainError('DISPLAY_TOKEN_NOT_FOUND', `display token ${id} does not exist`, 'id');
    // Revoking twice is not an error: the answer is the token as it stands.
    if (await revokeDisplayTokenRow(trx, id, operator, at)) {
      await appendAudit(trx, { operator, action: 'display_token.revoke', targetType: 'display_token', targetId: String(id), details: { name: existing.name } });
    }
    return (await findDisplayToken(trx, id))!;
  });
}

export const displayTokens = (db: Executor): Promise<DisplayToken[]> => listDisplayTokens(db);

export function displayTokenHash(token: string): string {
  return hashSecret(token);
}

/** The live (not revoked) tokens among the given hashes: what the live feed checks at connect and on every tick. */
export const liveDisplayTokens = (db: Executor, hashes: readonly string[]): Promise<Map<string, DisplayToken>> => activeDisplayTokens(db, hashes);
