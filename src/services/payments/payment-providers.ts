import type { PaymentProviderConfig } from '../../config.ts';
import type { PaymentProvider } from './payment-provider.ts';
import { SandboxProvider } from './sandbox.provider.ts';
import { WechatPayProvider } from './wechat.provider.ts';

/** The enabled providers by name, built once from the config. */
export class PaymentProviders {
  private readonly byName = new Map<string, PaymentProvider>();

  constructor(configs: readonly PaymentProviderConfig[]) {
    for (const c of configs) {
      switch (c.name) {
        case 'sandbox':
          this.byName.set(c.name, new SandboxProvider(c.secret));
          break;
        case 'wechat':
          this.byName.set(c.name, new WechatPayProvider(c.secret));
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
