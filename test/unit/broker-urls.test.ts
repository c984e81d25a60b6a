import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { failoverUrl, parseFailoverUrl } from '#dedup/broker-urls.ts';
import { endpointsFor } from '#lib/broker-urls.ts';

// What DescribeBroker lists for an active/standby ActiveMQ broker, instance by instance.
const amazonMq = [1, 2].flatMap((n) =>
  ['ssl://%:61617', 'amqp+ssl://%:5671', 'stomp+ssl://%:61614', 'mqtt+ssl://%:8883', 'wss://%:61619'].map((u) =>
    u.replace('%', `b-1234-${n}.mq.us-west-2.amazonaws.com`),
  ),
);

describe('broker URLs of client redirection', () => {
  it("picks one protocol's endpoints of every instance, in DescribeBroker's order", () => {
    expect(failoverUrl(endpointsFor('openwire', amazonMq))).toBe(
      'failover:(ssl://b-1234-1.mq.us-west-2.amazonaws.com:61617,ssl://b-1234-2.mq.us-west-2.amazonaws.com:61617)',
    );
    expect(endpointsFor('stomp', amazonMq)).toEqual([
      'stomp+ssl://b-1234-1.mq.us-west-2.amazonaws.com:61614',
      'stomp+ssl://b-1234-2.mq.us-west-2.amazonaws.com:61614',
    ]);
    expect(endpointsFor('amqp', ['stomp://127.0.0.1:61613'])).toEqual([]);
  });

  it('reads back what it writes, with or without transport options, and a single URL too', () => {
    const url = fc.webUrl({ validSchemes: ['ssl', 'stomp+ssl', 'amqp'] }).filter((u) => !/[,()\s]/.test(u));
    fc.assert(
      fc.property(fc.array(url, { minLength: 1, maxLength: 4 }), (urls) => {
        expect(parseFailoverUrl(failoverUrl(urls))).toEqual(urls);
      }),
    );
    expect(parseFailoverUrl('failover:(ssl://a:61617,ssl://b:61617)?randomize=false')).toEqual([
      'ssl://a:61617',
      'ssl://b:61617',
    ]);
    expect(parseFailoverUrl(' stomp://127.0.0.1:61613 ')).toEqual(['stomp://127.0.0.1:61613']);
  });

  it('rejects what is not a broker URL, saying what it expected', () => {
    for (const bad of ['', 'failover:()', 'orders-broker', 'failover:(ssl://a:1,not a url)']) {
      expect(() => parseFailoverUrl(bad)).toThrow(/is not a broker URL nor failover:\(url,\.\.\.\) of them/);
    }
  });
});
