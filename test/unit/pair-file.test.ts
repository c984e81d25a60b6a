/** The pair file behind `npm run deploy`: clear errors for bad files, each Region's parameters, no placeholders. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { PairFileError, parsePairFile, placeholders, stackParams } from '../../scripts/deploy.ts';

const example = readFileSync('pairs/example.yml', 'utf8');

describe('pair file', () => {
  it('derives each Region\u2019s stack: its own broker local, the other remote, the dedup table owned by one', () => {
    const pair = parsePairFile(example, 'pairs/example.yml');
    expect(stackParams(pair, 'us-west-2')).toMatchObject({
      pairId: 'orders',
      localBrokerName: 'orders-replica',
      remoteBrokerName: 'orders-primary',
      remoteRegion: 'us-east-1',
      dedupTableOwner: 'false',
      reconcileSourceUrl: expect.stringContaining('.mq.us-east-1.'),
      reconcileTargetUrl: expect.stringContaining('.mq.us-west-2.'),
      deadlineSeconds: '600',
    });
    expect(stackParams(pair, 'us-east-1')).toMatchObject({ remoteRegion: 'us-west-2', dedupTableOwner: 'true' });
    expect(() => stackParams(pair, 'eu-west-1')).toThrow(PairFileError);
  });

  it('names every problem of a bad file, in one message', () => {
    const bad = parse(example);
    bad.brokers[1].region = 'us-east-1';
    bad.brokers[0].brokerId = 'broker-1';
    bad.policies.deadlineSeconds = 5;
    bad.dedup.ownerRegion = 'eu-west-1';
    bad.extra = true;
    let message = '';
    try {
      parsePairFile(stringify(bad), 'pairs/bad.yml');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^pairs\/bad\.yml: /);
    expect(message).toContain('brokers.0.brokerId: a broker ID such as b-1a2b3c4d');
    expect(message).toContain('policies.deadlineSeconds: Invalid value: Expected >=30');
    expect(message).toContain('extra: unrecognized key');
    expect(() => parsePairFile('pairId: [', 'pairs/x.yml')).toThrow(/pairs\/x\.yml is not valid YAML/);
  });

  it('refuses documentation values for a deploy: the example packages but never deploys', () => {
    const pair = parsePairFile(example, 'pairs/example.yml');
    expect(placeholders(pair)).toEqual([
      expect.stringContaining('us-east-1 brokerId b-9876z5y4-32xw-109v-8ut7-6s54r3q210p9 is not a real broker ID'),
      expect.stringContaining('us-west-2 brokerId b-1234a5b6-78cd-901e-2fgh-3i45j6k178l9 is not a real broker ID'),
    ]);
    const real = parse(example);
    real.brokers[0].brokerId = 'b-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
    real.brokers[1].brokerId = 'b-1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d';
    expect(placeholders(parsePairFile(stringify(real), 'pairs/real.yml'))).toEqual([]);
  });

  it('takes thresholds in seconds, each Region its own VPC and secret, and names that fit with the pair in them', () => {
    const pair = parsePairFile(example, 'pairs/example.yml');
    expect(stackParams(pair, 'us-west-2')).toMatchObject({
      lagAlarmName: 'orders-replication-lag',
      lagAlarmSeconds: '120',
      probeEndpoints: 'auto',
      brokerSecretArn: expect.stringMatching(/^arn:aws:secretsmanager:us-west-2:/),
    });
    expect(stackParams(pair, 'us-west-2').brokerSubnetIds).toBeUndefined();
    const privatePair = parse(example);
    privatePair.brokers[1].vpc = { subnetIds: ['subnet-0123456789abcdef0'], securityGroupIds: ['sg-0123456789abcdef0'] };
    delete privatePair.alarms.lagAlarmName;
    expect(stackParams(parsePairFile(stringify(privatePair), 'p.yml'), 'us-west-2', 'staging')).toMatchObject({
      brokerSubnetIds: 'subnet-0123456789abcdef0',
      brokerSecurityGroupIds: 'sg-0123456789abcdef0',
      // The default alarm name carries the pair and the stage: unique in the Region.
      lagAlarmName: 'mq-crdr-orders-staging-replication-lag',
    });
    const bad = parse(example);
    bad.brokers[0].secretArn = bad.brokers[1].secretArn; // a us-west-2 secret for the us-east-1 broker
    bad.alarms.lagSeconds = 5;
    bad.pairId = 'a-pair-id-long-enough-to-overflow-a-name0'; // 40: mq-crdr-<40>-prod is 53
    bad.brokers[1].vpc = { subnetIds: ['subnet-x'], securityGroupIds: [] };
    let message = '';
    try {
      parsePairFile(stringify(bad), 'pairs/bad.yml');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('alarms.lagSeconds: Invalid value: Expected >=30');
    expect(message).toContain('brokers.1.vpc.subnetIds.0: a subnet ID');
    expect(message).toContain('brokers.1.vpc.securityGroupIds: Invalid length');
    expect(message).toContain("each broker's secretArn must be in that broker's Region");
    expect(message).toContain('pairId and stage together too long');
  });
});
