/**
 * Which of a broker's endpoints client redirection lists, by protocol. The failover URL itself (`failoverUrl`,
 * `parseFailoverUrl`) is the dedup package's `@mq-crdr/dedup/broker-urls`: consumers parse what this writes.
 */
import { type BrokerProtocol, PROTOCOL_SCHEMES } from './mq-facts.ts';

/** The endpoints of `protocol` among those DescribeBroker lists, in its order. */
export const endpointsFor = (protocol: BrokerProtocol, endpoints: readonly string[]): string[] =>
  endpoints.filter((url) => (PROTOCOL_SCHEMES[protocol] as readonly string[]).includes(url.split('://')[0] ?? ''));
