import type { Kysely } from 'kysely';
import { appendAudit } from '../db/audit.repository.ts';
import type { Database } from '../db/database.ts';
import { deleteGatewayCredential, findGatewayCredential, saveGatewayCredential } from '../db/gateway-credential.repository.ts';
import { gatewaySecretMatches, hashGatewaySecret, newGatewaySecret } from '../domain/gateway-secret.ts';
import { DomainError } from '../errors.ts';

/** What the issuer is shown once: the broker username is the gateway id. */
export interface IssuedGatewayCredential {
  readonly gatewayId: string;
  readonly username: string;
  readonly secret: string;
  readonly issuedAt: Date;
}

async function requireMqttGateway(db: Kysely<Database>, gatewayId: string): Promise<void> {
  const gateway = await db.selectFrom('gateways').select(['id', 'protocol']).where('id', '=', gatewayId).executeTakeFirst();
  if (!gateway) throw new DomainError('GATEWAY_NOT_FOUND', `gateway ${gatewayId} does not exist`);
  if (gateway.protocol !== 'mqtt') throw new DomainError('GATEWAY_NOT_MQTT', `gateway ${gatewayId} speaks ${gateway.protocol}: only MQTT gateways have broker credentials`);
}

/**
 * Issues (or re-issues, replacing the old one) `gatewayId`'s broker credential; audited in the
 * same transaction. The secret is returned here and nowhere else: only its hash is stored.
 */
export async function issueGatewayCredential(db: Kysely<Database>, gatewayId: string, operator: string, issuedAt: Date): Promise<IssuedGatewayCredential> {
  await requireMqttGateway(db, gatewayId);
  const secret = newGatewaySecret();
  await db.transaction().execute(async (trx) => {
    const replaced = (await findGatewayCredential(trx, gatewayId)) !== undefined;
    await saveGatewayCredential(trx, { gatewayId, secretHash: hashGatewaySecret(secret), issuedBy: operator, issuedAt });
    await appendAudit(trx, { operator, action: 'gateway.credential.issue', targetType: 'gateway', targetId: gatewayId, details: { replaced } });
  });
  return { gatewayId, username: gatewayId, secret, issuedAt };
}

/** Deletes `gatewayId`'s credential, audited; 404 when it has none. The caller drops its live connection. */
export async function revokeGatewayCredential(db: Kysely<Database>, gatewayId: string, operator: string): Promise<void> {
  await requireMqttGateway(db, gatewayId);
  await db.transaction().execute(async (trx) => {
    if (!(await deleteGatewayCredential(trx, gatewayId))) throw new DomainError('CREDENTIAL_NOT_FOUND', `gateway ${gatewayId} has no credential`);
    await appendAudit(trx, { operator, action: 'gateway.credential.revoke', targetType: 'gateway', targetId: gatewayId });
  });
}

/** The broker's check at CONNECT: the username is the gateway id. */
export async function gatewayCredentialValid(db: Kysely<Database>, gatewayId: string, secret: string): Promise<boolean> {
  const credential = await findGatewayCredential(db, gatewayId);
  return credential !== undefined && gatewaySecretMatches(secret, credential.secretHash);
}
