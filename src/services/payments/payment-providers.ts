import type { Kysely } from 'kysely';
import type { Clock } from '../../clock.ts';
import type { PaymentProviderConfig } from '../../config.ts';
import type { Database } from '../../db/database.ts';
import { fetchTransport, type HttpTransport } from './http-transport.ts';
import type { PaymentProvider } from './payment-provider.ts';
import { SandboxProvider } from './sandbox.provider.ts';
import { WechatPayProvider } from './wechat.provider.ts';

/** What the providers need from the server: the sandbox keeps its settlements in the database; the real ones call out. */
export interface PaymentProviderDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  /** How the real providers' APIs are called (Node's fetch by default). */
  readonly transport?: HttpTransport;
}

/** The enabled providers by name, built once from the config. */
export class PaymentProviders {
  private readonly byName = new Map<string, PaymentProvider>();

  constructor(configs: readonly PaymentProviderConfig[], deps: PaymentProviderDeps) {
    for (const c of configs) {
      switch (c.name) {
        case 'sandbox':
          this.byName.set(c.name, new SandboxProvider(c.secret, deps.db));
          break;
        case 'wechat':
          this.byName.set(
            c.name,
            new WechatPayProvider(c.secret, { merchantId: c.merchantId ?? '', apiBaseUrl: c.apiBaseUrl ?? 'https://api.mch.weixin.qq.com', transport: deps.transport ?? fetchTransport(), clock: deps.clock }),
          );
          break;
      }
    }
  }

  get(name: string): PaymentProvider | undefined {
    return this.byName.get(name);
  }

  /** The sandbox, when enabled (its pay page is served by this server). */
  get sandbox(): SandboxProvider | undefined {
    const found = this.byName.get('sandbox');
    return found instanceof SandboxProvider ? found : undefined;
  }

  get names(): string[] {
    return [...this.byName.keys()];
  }
}
