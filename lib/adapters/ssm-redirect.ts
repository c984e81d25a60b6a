/**
 * Client redirection through SSM Parameter Store: the parameter holds the failover transport string of the
 * current primary (see packages/dedup/src/broker-urls.ts), written in each configured Region (the new primary's first) so
 * that clients in either Region read it locally. The other Region's broker's endpoints follow the primary's
 * in the URL, as Amazon MQ's best practice shows one failover URL across two Regions: a replica accepts no
 * connections, so a client finds the primary by itself even after a promotion nobody redirected it for (a
 * Promote from the console) or a write that failed. When the other Region does not answer, the primary's
 * endpoints alone are written. Written only after DescribeBroker shows the broker the
 * running primary, and only where the value differs: calling it again changes nothing, and a parameter's
 * version moves once per redirection.
 */
import type { SSMClient } from '@aws-sdk/client-ssm';
import { failoverUrl } from '#dedup/broker-urls.ts';
import { endpointsFor } from '../broker-urls.ts';
import { isPromoted } from '../core/decide.ts';
import { RedirectError } from '../errors.ts';
import type { BrokerProtocol } from '../mq-facts.ts';
import { errorMessage } from '../orchestrator.ts';
import type { ClientRedirector } from '../ports.ts';
import { type MqBrokerApi, toObservation } from './mq.ts';

export interface SsmRedirectConfig {
  parameterName: string;
  /** Regions to write the parameter in, the new primary's first. */
  regions: string[];
  protocol: BrokerProtocol;
}

export class SsmClientRedirector implements ClientRedirector {
  constructor(
    private readonly broker: MqBrokerApi,
    /** Clients made (and their package loaded) on first use: see lazyClient in lib/runtime.ts. */
    private readonly ssmIn: (region: string) => Promise<SSMClient>,
    private readonly config: SsmRedirectConfig,
    /** The other Region's broker, whose endpoints follow the primary's; read within `timeoutMs`. */
    private readonly other?: { broker: MqBrokerApi; brokerId: string; timeoutMs: number },
  ) {}

  async redirect(brokerId: string): Promise<string> {
    const { parameterName, regions, protocol } = this.config;
    const value = await this.targetOf(brokerId);
    const written: string[] = [];
    const failed: string[] = [];
    for (const region of regions) {
      try {
        written.push(`${region} ${(await this.write(region, value)) ? 'written' : 'unchanged'}`);
      } catch (error) {
        const name = (error as { name?: string }).name;
        failed.push(`${region}: ${name && name !== 'Error' ? `${name}: ` : ''}${errorMessage(error)}`);
      }
    }
    const done = written.length > 0 ? `; ${written.join(', ')}` : '';
    if (failed.length > 0) {
      throw new RedirectError(`SSM ${parameterName} not written in ${failed.join('; ')}${done}`);
    }
    return `SSM ${parameterName} = ${value} (${protocol}) in ${written.join(', ')}`;
  }

  async current(): Promise<Array<{ region: string; value?: string; error?: string }>> {
    const { GetParameterCommand } = await import('@aws-sdk/client-ssm');
    const Name = this.config.parameterName;
    return Promise.all(
      this.config.regions.map(async (region) => {
        try {
          const out = await (await this.ssmIn(region)).send(new GetParameterCommand({ Name }));
          return out.Parameter?.Value === undefined ? { region, error: 'no value' } : { region, value: out.Parameter.Value };
        } catch (error) {
          const name = (error as { name?: string }).name;
          return { region, error: name === 'ParameterNotFound' ? 'not found' : errorMessage(error) };
        }
      }),
    );
  }

  /** The failover URL of the broker's `protocol` endpoints, once it is the running primary. */
  private async targetOf(brokerId: string): Promise<string> {
    let out: Awaited<ReturnType<MqBrokerApi['describe']>>;
    try {
      out = await this.broker.describe(brokerId);
    } catch (error) {
      throw new RedirectError(`cannot redirect clients: ${errorMessage(error)}`, { cause: error });
    }
    const observation = toObservation(out);
    if (!isPromoted(observation)) {
      throw new RedirectError(
        `broker ${brokerId} is not the running primary yet (role ${observation.role}, ${observation.brokerState}${observation.promotionPending ? ', promotion pending' : ''}); clients are not pointed at it`,
      );
    }
    const urls = endpointsFor(
      this.config.protocol,
      (out.BrokerInstances ?? []).flatMap((i) => i.Endpoints ?? []),
    );
    if (urls.length === 0) {
      throw new RedirectError(`DescribeBroker of ${brokerId} lists no ${this.config.protocol} endpoint; check REDIRECT_PROTOCOL`);
    }
    const others = (await this.otherEndpoints()).filter((u) => !urls.includes(u));
    return failoverUrl([...urls, ...others]);
  }

  /** The other Region's broker's endpoints of the protocol; none when it does not answer in time. */
  private async otherEndpoints(): Promise<string[]> {
    if (!this.other) return [];
    try {
      const out = await this.other.broker.describe(this.other.brokerId, AbortSignal.timeout(this.other.timeoutMs));
      return endpointsFor(
        this.config.protocol,
        (out.BrokerInstances ?? []).flatMap((i) => i.Endpoints ?? []),
      );
    } catch {
      return [];
    }
  }

  /** Writes `value` unless the parameter already holds it; true when written. */
  private async write(region: string, value: string): Promise<boolean> {
    const { GetParameterCommand, PutParameterCommand } = await import('@aws-sdk/client-ssm');
    const client = await this.ssmIn(region);
    const Name = this.config.parameterName;
    try {
      const current = await client.send(new GetParameterCommand({ Name }));
      if (current.Parameter?.Value === value) return false;
    } catch (error) {
      if ((error as { name?: string }).name !== 'ParameterNotFound') throw error;
    }
    await client.send(new PutParameterCommand({ Name, Value: value, Type: 'String', Overwrite: true }));
    return true;
  }
}
