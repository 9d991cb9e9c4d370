import type { Executor } from './executor.ts';

/** One MQTT gateway's credential: only the hash of its secret (src/domain/gateway-secret.ts). */
export interface GatewayCredential {
  readonly gatewayId: string;
  readonly secretHash: string;
  readonly issuedBy: string;
  readonly issuedAt: Date;
}

/** Stores `gatewayId`'s credential, replacing the one it had (the old secret stops working). */
export async function saveGatewayCredential(db: Executor, credential: { gatewayId: string; secretHash: string; issuedBy: string; issuedAt: Date }): Promise<void> {
  await db
    .insertInto('gateway_credentials')
    .values({ gateway_id: credential.gatewayId, secret_hash: credential.secretHash, issued_by: credential.issuedBy, issued_at: credential.issuedAt })
    .onConflict((oc) => oc.column('gateway_id').doUpdateSet({ secret_hash: credential.secretHash, issued_by: credential.issuedBy, issued_at: credential.issuedAt }))
    .execute();
}

export async function findGatewayCredential(db: Executor, gatewayId: string): Promise<GatewayCredential | undefined> {
  const row = await db.selectFrom('gateway_credentials').selectAll().where('gateway_id', '=', gatewayId).executeTakeFirst();
  return row && { gatewayId: row.gateway_id, secretHash: row.secret_hash, issuedBy: row.issued_by, issuedAt: new Date(row.issued_at) };
}

/** True when there was a credential to delete. */
export async function deleteGatewayCredential(db: Executor, gatewayId: string): Promise<boolean> {
  const result = await db.deleteFrom('gateway_credentials').where('gateway_id', '=', gatewayId).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}
