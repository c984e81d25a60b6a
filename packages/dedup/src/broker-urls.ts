/**
 * The value client redirection writes and clients read: ActiveMQ's failover transport string listing the
 * primary's endpoints for one protocol, `failover:(ssl://b-…-1.mq.us-west-2.amazonaws.com:61617,ssl://b-…-2…)`.
 * OpenWire clients use it as their broker URL as it is; other clients try the listed URLs in order (only the
 * active instance of an active/standby broker accepts connections). Exported as `@mq-crdr/dedup/broker-urls`:
 * the orchestrator writes it with `failoverUrl`, consumers read it with `parseFailoverUrl`.
 */

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
