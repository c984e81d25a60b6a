/**
 * The names in a packaged stack that AWS requires to be unique, each with the scope it must be unique in: the
 * account (dashboards, IAM roles), or the account and one Region (stacks, functions, log groups, alarms,
 * schedule groups, rules, exports, tables, queues, topics). A global table's name is taken in every Region it
 * has a replica in. Resources under a condition count only where the stack's parameter defaults make it true.
 */
type Json = Record<string, unknown>;

export interface TakenName {
  /** `account` or `account/<region>`. */
  scope: string;
  kind: string;
  name: string;
  /** Which stack takes it. */
  stack: string;
}

const NAME_PROPERTY: Record<string, { property: string; global?: boolean }> = {
  'AWS::Lambda::Function': { property: 'FunctionName' },
  'AWS::Logs::LogGroup': { property: 'LogGroupName' },
  'AWS::CloudWatch::Alarm': { property: 'AlarmName' },
  'AWS::CloudWatch::Dashboard': { property: 'DashboardName', global: true },
  'AWS::Scheduler::ScheduleGroup': { property: 'Name' },
  'AWS::Events::Rule': { property: 'Name' },
  'AWS::DynamoDB::Table': { property: 'TableName' },
  'AWS::DynamoDB::GlobalTable': { property: 'TableName' },
  'AWS::SQS::Queue': { property: 'QueueName' },
  'AWS::SNS::Topic': { property: 'TopicName' },
  'AWS::IAM::Role': { property: 'RoleName', global: true },
  'AWS::IAM::ManagedPolicy': { property: 'ManagedPolicyName', global: true },
};

/** Evaluates the conditions of this template's shape (`Fn::Equals` of a parameter and a literal). */
function conditionHolds(template: Json, name: string): boolean {
  const condition = (template.Conditions as Json | undefined)?.[name] as { 'Fn::Equals'?: unknown[] } | undefined;
  const [left, right] = condition?.['Fn::Equals'] ?? [];
  const value = (side: unknown): unknown => {
    const ref = (side as { Ref?: string } | undefined)?.Ref;
    return ref ? ((template.Parameters as Record<string, { Default?: unknown }>)[ref]?.Default ?? side) : side;
  };
  if (!condition) throw new Error(`condition ${name} is not of the shape this check evaluates`);
  return value(left) === value(right);
}

export function takenNames(template: Json, region: string, stackName: string): TakenName[] {
  const taken: TakenName[] = [{ scope: `account/${region}`, kind: 'stack', name: stackName, stack: stackName }];
  for (const [id, resource] of Object.entries(template.Resources as Record<string, Json>)) {
    const naming = NAME_PROPERTY[resource.Type as string];
    if (!naming) continue;
    if (resource.Condition && !conditionHolds(template, resource.Condition as string)) continue;
    const properties = (resource.Properties ?? {}) as Json;
    const name = properties[naming.property];
    // Unnamed: CloudFormation makes a unique name from the stack's and the resource's.
    if (name === undefined) continue;
    if (typeof name !== 'string') throw new Error(`${stackName}: ${id}'s name is not a literal: ${JSON.stringify(name)}`);
    const regions =
      resource.Type === 'AWS::DynamoDB::GlobalTable'
        ? (properties.Replicas as Array<{ Region: unknown }>).map((r) => (typeof r.Region === 'string' ? r.Region : region))
        : [region];
    for (const r of regions) {
      taken.push({ scope: naming.global ? 'account' : `account/${r}`, kind: resource.Type as string, name, stack: stackName });
    }
  }
  for (const output of Object.values((template.Outputs ?? {}) as Record<string, { Export?: { Name?: unknown } }>)) {
    const name = output.Export?.Name;
    if (typeof name === 'string') taken.push({ scope: `account/${region}`, kind: 'export', name, stack: stackName });
  }
  return taken;
}

/** Every name two or more stacks would both take in one scope. */
export function duplicates(names: TakenName[]): string[] {
  const seen = new Map<string, TakenName>();
  const found: string[] = [];
  for (const n of names) {
    const key = `${n.scope}|${n.kind === 'AWS::DynamoDB::GlobalTable' ? 'AWS::DynamoDB::Table' : n.kind}|${n.name}`;
    const first = seen.get(key);
    if (first && first.stack !== n.stack) found.push(`${n.kind} ${n.name} in ${n.scope}: ${first.stack} and ${n.stack}`);
    if (!first) seen.set(key, n);
  }
  return found;
}
