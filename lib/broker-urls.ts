/**
 * The value client redirection writes and clients read: ActiveMQ's failover transport string listing the
 * primary's endpoints for one protocol, `failover:(ssl://b-…-1.mq.us-west-2.amazonaws.com:61617,ssl://b-…-2…)`.
 * OpenWire clients use it as their broker URL as it is; other clients try the listed URLs in order (only the
 * active instance of an active/standby broker accepts connections).
 */
import { type BrokerProtocol, PROTOCOL_SCHEMES } from './mq-facts.ts';

/** The endpoints of `protocol` among those DescribeBroker lists, in its order. */
export const endpointsFor = (protocol: BrokerProtocol, endpoints: readonly string[]): string[] =>
  endpoints.filter((url) => (PROTOCOL_SCHEMES[protocol] as readonly string[]).includes(url.split('://')[0] ?? ''));

export const failoverUrl = (urls: readonly string[]): string => `failover:(${urls.join(',')})`;

/** The URLs of a failover transport string (its options dropped), or the single URL given. */
export function parseFailoverUrl(value: string): string[] {
  const text = value.trim();
  const match = /^failover:\(([^()]*)\)(\?.*)?$/.exec(text);
  const urls = (match ? (match[1] ?? '') : text)
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
  if (urls.length === 0 || urls.some((u) => !/^[a-z+]+:\/\/\S+$/.test(u))) {
    throw new Error(`"${value}" is not a broker URL nor failover:(url,...) of them`);
  }
  return urls;
}
