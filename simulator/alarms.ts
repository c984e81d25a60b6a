/**
 * CloudWatch's part in the drills and tests: the replication alarms exactly as serverless.yml declares them
 * (read from it, `${param:…}` filled in as a deploy fills them), evaluated once a minute over the world's
 * datapoints. The metric math they use is evaluated per timestamp as CloudWatch documents it ("Metric math
 * syntax and functions"): MAX of an array is the largest value present at each timestamp, IF(c, a, b) takes
 * a where c is non-zero, comparisons give 1 or 0; an alarm is ALARM when DatapointsToAlarm of the last
 * EvaluationPeriods periods breach, and missing datapoints are not breaching (TreatMissingData notBreaching).
 * Only what the template uses is implemented; anything else throws rather than answer wrongly.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { CRDR_NAMESPACE } from '#lib/mq-facts.ts';
import { alarmStateChangeEvent } from './alarm-event.ts';
import type { CrdrWorld, SimBroker } from './world.ts';

interface MetricDataQuery {
  Id: string;
  ReturnData?: boolean;
  Expression?: string;
  MetricStat?: {
    Metric: { Namespace: string; MetricName: string; Dimensions: Array<{ Name: string; Value: string }> };
    Period: number;
    Stat: string;
  };
}

export interface AlarmDefinition {
  AlarmName: string;
  Metrics: MetricDataQuery[];
  Threshold: number;
  EvaluationPeriods: number;
  DatapointsToAlarm: number;
  ComparisonOperator: 'GreaterThanThreshold' | 'GreaterThanOrEqualToThreshold';
  TreatMissingData: 'notBreaching';
}

/** The template's parameters the replication alarm reads (the rest of serverless.yml's defaults apply). */
export interface AlarmParams {
  pairId: string;
  localBrokerName: string;
  lagAlarmName: string;
  lagAlarmSeconds?: number;
}

const TEMPLATE = new URL('../serverless.yml', import.meta.url);
export const REPLICATION_ALARMS = ['ReplicationLagAlarm'] as const;

/** The replication alarm(s) of one Region's stack, from serverless.yml with `params` (and its defaults) filled in. */
export function replicationAlarms(params: AlarmParams): AlarmDefinition[] {
  const yaml = parseYaml(readFileSync(TEMPLATE, 'utf8'), { logLevel: 'error' }) as {
    params: { default: Record<string, string> };
    resources: { Resources: Record<string, { Properties: Record<string, unknown> }> };
  };
  const values: Record<string, string> = {
    ...yaml.params.default,
    pairId: params.pairId,
    localBrokerName: params.localBrokerName,
    lagAlarmName: params.lagAlarmName,
    ...(params.lagAlarmSeconds === undefined ? {} : { lagAlarmSeconds: String(params.lagAlarmSeconds) }),
  };
  const fill = (value: unknown): unknown => {
    if (typeof value === 'string') {
      return value.replace(/\$\{param:(\w+)\}/g, (_, name: string) => {
        const v = values[name];
        if (v === undefined) throw new Error(`serverless.yml: the replication alarms read \${param:${name}}, which is not given`);
        return v;
      });
    }
    if (Array.isArray(value)) return value.map(fill);
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fill(v)]));
    return value;
  };
  return REPLICATION_ALARMS.map((id) => {
    const p = fill(yaml.resources.Resources[id]?.Properties) as Record<string, unknown>;
    return {
      AlarmName: String(p.AlarmName),
      Metrics: p.Metrics as MetricDataQuery[],
      Threshold: Number(p.Threshold),
      EvaluationPeriods: Number(p.EvaluationPeriods),
      DatapointsToAlarm: Number(p.DatapointsToAlarm ?? p.EvaluationPeriods),
      ComparisonOperator: p.ComparisonOperator as AlarmDefinition['ComparisonOperator'],
      TreatMissingData: p.TreatMissingData as 'notBreaching',
    };
  });
}

// ---- metric math, per timestamp ----

type Value = number | undefined | Value[];
type Node =
  | { kind: 'number'; value: number }
  | { kind: 'id'; name: string }
  | { kind: 'call'; name: string; args: Node[] }
  | { kind: 'array'; items: Node[] }
  | { kind: 'binary'; op: string; left: Node; right: Node };

export function parseExpression(text: string): Node {
  const tokens = text.match(/\d+(?:\.\d+)?|[A-Za-z_]\w*|>=|<=|==|!=|[-+*/()[\],<>]/g) ?? [];
  if (tokens.join('') !== text.replace(/\s+/g, '')) throw new Error(`metric math: cannot read ${JSON.stringify(text)}`);
  let i = 0;
  const peek = () => tokens[i];
  const take = (expected?: string): string => {
    const token = tokens[i++];
    if (token === undefined || (expected !== undefined && token !== expected)) {
      throw new Error(`metric math: expected ${expected ?? 'more'} in ${JSON.stringify(text)}`);
    }
    return token;
  };
  const list = (close: string): Node[] => {
    const items: Node[] = [];
    if (peek() !== close) {
      items.push(comparison());
      while (peek() === ',') {
        take(',');
        items.push(comparison());
      }
    }
    take(close);
    return items;
  };
  const factor = (): Node => {
    const token = take();
    if (token === '(') {
      const inner = comparison();
      take(')');
      return inner;
    }
    if (token === '[') return { kind: 'array', items: list(']') };
    if (/^\d/.test(token)) return { kind: 'number', value: Number(token) };
    if (/^[A-Za-z_]/.test(token)) {
      if (peek() !== '(') return { kind: 'id', name: token };
      take('(');
      return { kind: 'call', name: token.toUpperCase(), args: list(')') };
    }
    throw new Error(`metric math: unexpected ${token} in ${JSON.stringify(text)}`);
  };
  const chain = (next: () => Node, ops: string[]) => (): Node => {
    let left = next();
    while (ops.includes(peek() ?? '')) left = { kind: 'binary', op: take(), left, right: next() };
    return left;
  };
  const term = chain(factor, ['*', '/']);
  const additive = chain(term, ['+', '-']);
  const comparison = chain(additive, ['>', '<', '>=', '<=', '==', '!=']);
  const tree = comparison();
  if (i !== tokens.length) throw new Error(`metric math: unexpected ${tokens[i]} in ${JSON.stringify(text)}`);
  return tree;
}

const num = (v: Value): number | undefined => (typeof v === 'number' ? v : undefined);

export function evaluate(node: Node, vars: Record<string, number | undefined>): Value {
  switch (node.kind) {
    case 'number':
      return node.value;
    case 'id':
      if (!(node.name in vars)) throw new Error(`metric math: no metric with id ${node.name}`);
      return vars[node.name];
    case 'array':
      return node.items.map((n) => evaluate(n, vars));
    case 'call': {
      const args = node.args.map((n) => evaluate(n, vars));
      if (node.name === 'MAX') {
        const present = (Array.isArray(args[0]) ? args[0] : args).map(num).filter((v) => v !== undefined);
        return present.length ? Math.max(...present) : undefined;
      }
      if (node.name === 'IF') {
        const condition = num(args[0] as Value);
        return condition === undefined ? undefined : num((condition !== 0 ? args[1] : args[2]) as Value);
      }
      throw new Error(`metric math: ${node.name} is not implemented here`);
    }
    case 'binary': {
      const a = num(evaluate(node.left, vars));
      const b = num(evaluate(node.right, vars));
      if (a === undefined || b === undefined) return undefined;
      const ops: Record<string, () => number> = {
        '+': () => a + b,
        '-': () => a - b,
        '*': () => a * b,
        '/': () => a / b,
        '>': () => Number(a > b),
        '<': () => Number(a < b),
        '>=': () => Number(a >= b),
        '<=': () => Number(a <= b),
        '==': () => Number(a === b),
        '!=': () => Number(a !== b),
      };
      return (ops[node.op] as () => number)();
    }
  }
}

/** One alarm of one Region, evaluated as CloudWatch does once a minute. */
export class SimAlarm {
  state: 'OK' | 'ALARM' = 'OK';
  private readonly expression: { id: string; tree: Node };

  constructor(
    private readonly world: CrdrWorld,
    readonly region: string,
    readonly definition: AlarmDefinition,
  ) {
    const returned = definition.Metrics.find((m) => m.ReturnData !== false && m.Expression);
    if (!returned?.Expression) throw new Error(`${definition.AlarmName}: no expression returns data`);
    this.expression = { id: returned.Id, tree: parseExpression(returned.Expression) };
  }

  /** The alarm's value for the minute starting at `minute`, or undefined when missing. */
  valueAt(minute: number): number | undefined {
    const vars: Record<string, number | undefined> = {};
    for (const q of this.definition.Metrics) {
      if (!q.MetricStat) continue;
      const { Metric, Period, Stat } = q.MetricStat;
      if ((Stat !== 'Maximum' && Stat !== 'Minimum') || Period !== 60 || Metric.Namespace !== CRDR_NAMESPACE) {
        throw new Error(`${this.definition.AlarmName}: only the Maximum or Minimum over 60 s of ${CRDR_NAMESPACE} is simulated`);
      }
      const broker = Metric.Dimensions.find((d) => d.Name === 'Broker')?.Value;
      const values = this.world.metrics
        .filter(
          (m) =>
            m.region === this.region &&
            m.metric === Metric.MetricName &&
            m.broker === broker &&
            m.at >= minute &&
            m.at < minute + 60_000,
        )
        .map((m) => m.value);
      vars[q.Id] = values.length ? (Stat === 'Maximum' ? Math.max(...values) : Math.min(...values)) : undefined;
    }
    return num(evaluate(this.expression.tree, vars));
  }

  /** Evaluates the last complete periods at `now`; the state change, if the state changed. */
  evaluate(now: number): { from: 'OK' | 'ALARM'; to: 'OK' | 'ALARM'; values: Array<number | undefined> } | undefined {
    const { EvaluationPeriods, DatapointsToAlarm, Threshold, ComparisonOperator } = this.definition;
    const current = Math.floor(now / 60_000) * 60_000;
    const values = Array.from({ length: EvaluationPeriods }, (_, k) => this.valueAt(current - (EvaluationPeriods - k) * 60_000));
    const breaching = values.filter(
      (v) => v !== undefined && (ComparisonOperator === 'GreaterThanThreshold' ? v > Threshold : v >= Threshold),
    ).length;
    const to = breaching >= DatapointsToAlarm ? 'ALARM' : 'OK';
    if (to === this.state) return undefined;
    const from = this.state;
    this.state = to;
    return { from, to, values };
  }
}

/**
 * The replication alarms of the given brokers' stacks (each on its own broker, in its own Region), as the
 * drills and tests play CloudWatch: `evaluate` once a minute yields the state changes EventBridge
 * forwards to the other Region. A Region that is down or hangs evaluates nothing and forwards nothing.
 */
export class ReplicationAlarms {
  readonly alarms: SimAlarm[];

  constructor(
    private readonly world: CrdrWorld,
    brokers: SimBroker[],
    options: { pairId: string; lagAlarmName: (broker: SimBroker) => string; lagAlarmSeconds?: number },
  ) {
    this.alarms = brokers.flatMap((broker) =>
      replicationAlarms({
        pairId: options.pairId,
        localBrokerName: broker.name,
        lagAlarmName: options.lagAlarmName(broker),
        ...(options.lagAlarmSeconds === undefined ? {} : { lagAlarmSeconds: options.lagAlarmSeconds }),
      }).map((definition) => new SimAlarm(world, broker.region, definition)),
    );
  }

  evaluate(now: number, region?: string): Array<{ alarm: SimAlarm; from: string; to: string; reason: string; event: unknown }> {
    this.world.sync();
    const changes = [];
    for (const alarm of this.alarms) {
      if ((region !== undefined && alarm.region !== region) || !this.world.isRegionServing(alarm.region)) continue;
      const change = alarm.evaluate(now);
      if (!change) continue;
      const shown = change.values.map((v) => (v === undefined ? '-' : `${Math.round(v)} s`)).join(', ');
      const reason = `${change.to === 'ALARM' ? 'Threshold Crossed' : 'Back under'}: [${shown}] against ${alarm.definition.Threshold} s`;
      const event = alarmStateChangeEvent(alarm.definition.AlarmName, change.to, change.from, now, reason, alarm.region);
      changes.push({ alarm, ...change, reason, event });
    }
    return changes;
  }
}
