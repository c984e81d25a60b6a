/**
 * Checks a CloudFormation template against CloudFormation's own rules and the published resource specification
 * (the registry schemas as the AWS CDK team publishes them on npm: @aws-cdk/aws-service-spec), not a hand-kept
 * list: the template's sections, every intrinsic function (one key, a known name, well-formed arguments),
 * every Ref, GetAtt, Sub variable, condition and DependsOn naming something that exists, every resource type
 * and property (recursively, through the property types) known, required properties present, outputs with a
 * value, and conditions that cannot vary (comparing two literals) flagged.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { gunzipSync } from 'node:zlib';

interface SpecType {
  type: string;
  reference?: { $ref: string };
  element?: SpecType;
  types?: SpecType[];
}
interface SpecProperty {
  type: SpecType;
  required?: boolean;
}
interface SpecEntity {
  $id: string;
  cloudFormationType?: string;
  properties: Record<string, SpecProperty>;
  attributes?: Record<string, unknown>;
}

export interface CfnSpec {
  resources: Map<string, SpecEntity>;
  types: Map<string, SpecEntity>;
}

export function loadSpec(): CfnSpec {
  const require = createRequire(import.meta.url);
  const file = require.resolve('@aws-cdk/aws-service-spec/db.json.gz');
  const db = JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as {
    schema: { resource: { entities: SpecEntity[] }; typeDefinition: { entities: SpecEntity[] } };
  };
  return {
    resources: new Map(db.schema.resource.entities.map((e) => [e.cloudFormationType as string, e])),
    types: new Map(db.schema.typeDefinition.entities.map((e) => [e.$id, e])),
  };
}

const SECTIONS = new Set([
  'AWSTemplateFormatVersion',
  'Description',
  'Metadata',
  'Parameters',
  'Rules',
  'Mappings',
  'Conditions',
  'Transform',
  'Resources',
  'Outputs',
]);
const PSEUDO = new Set([
  'AWS::AccountId',
  'AWS::NotificationARNs',
  'AWS::NoValue',
  'AWS::Partition',
  'AWS::Region',
  'AWS::StackId',
  'AWS::StackName',
  'AWS::URLSuffix',
]);
const FUNCTIONS = new Set([
  'Ref',
  'Condition',
  'Fn::Base64',
  'Fn::Cidr',
  'Fn::FindInMap',
  'Fn::GetAtt',
  'Fn::GetAZs',
  'Fn::If',
  'Fn::ImportValue',
  'Fn::Join',
  'Fn::Length',
  'Fn::Select',
  'Fn::Split',
  'Fn::Sub',
  'Fn::ToJsonString',
  'Fn::Transform',
  'Fn::Equals',
  'Fn::And',
  'Fn::Or',
  'Fn::Not',
]);
const RESOURCE_KEYS = new Set([
  'Type',
  'Properties',
  'DependsOn',
  'Condition',
  'Metadata',
  'DeletionPolicy',
  'UpdateReplacePolicy',
  'UpdatePolicy',
  'CreationPolicy',
]);

type Json = unknown;
const isObject = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);
/** `Condition` is a function only inside Conditions; elsewhere (an IAM statement) it is a plain key. */
const isIntrinsicKey = (k: string) => k === 'Ref' || k.startsWith('Fn::');

export function lintTemplate(template: Record<string, Json>, spec: CfnSpec): string[] {
  const errors: string[] = [];
  const err = (path: string, message: string) => errors.push(`${path}: ${message}`);
  const parameters = isObject(template.Parameters) ? template.Parameters : {};
  const resources = isObject(template.Resources) ? template.Resources : {};
  const conditions = isObject(template.Conditions) ? template.Conditions : {};
  const refable = (name: string) => name in parameters || name in resources || PSEUDO.has(name);

  for (const key of Object.keys(template)) if (!SECTIONS.has(key)) err(key, 'not a template section');
  if (Object.keys(resources).length === 0) err('Resources', 'a template needs at least one resource');

  /** Every intrinsic function anywhere under `value`. */
  const intrinsics = (value: Json, path: string): void => {
    if (Array.isArray(value)) {
      for (const [i, v] of value.entries()) intrinsics(v, `${path}[${i}]`);
      return;
    }
    if (!isObject(value)) return;
    const keys = Object.keys(value);
    const fnKeys = keys.filter(isIntrinsicKey);
    if (fnKeys.length > 0 && keys.length !== 1) {
      err(path, `an intrinsic function must be an object with one key, found ${keys.join(', ')}`);
    }
    for (const [k, arg] of Object.entries(value)) {
      const at = `${path}.${k}`;
      if (isIntrinsicKey(k) && !FUNCTIONS.has(k)) err(at, `unknown intrinsic function ${k}`);
      if (k === 'Ref' && (typeof arg !== 'string' || !refable(arg)))
        err(at, `Ref to ${JSON.stringify(arg)}, which is no parameter, resource or pseudo parameter`);
      if (k === 'Fn::GetAtt') checkGetAtt(arg, at);
      if (k === 'Fn::Sub') checkSub(arg, at);
      if (k === 'Fn::If') {
        if (!Array.isArray(arg) || arg.length !== 3 || typeof arg[0] !== 'string')
          err(at, 'Fn::If takes [condition, then, else]');
        else if (!(arg[0] in conditions)) err(at, `Fn::If names condition ${arg[0]}, which is not declared`);
      }
      if (k === 'Fn::Join' && (!Array.isArray(arg) || arg.length !== 2 || typeof arg[0] !== 'string'))
        err(at, 'Fn::Join takes [delimiter, [values]]');
      if (k === 'Fn::Select' && (!Array.isArray(arg) || arg.length !== 2)) err(at, 'Fn::Select takes [index, list]');
      if (k === 'Fn::Split' && (!Array.isArray(arg) || arg.length !== 2)) err(at, 'Fn::Split takes [delimiter, string]');
      intrinsics(arg, at);
    }
  };

  const checkGetAtt = (arg: Json, at: string) => {
    const [name, attribute] =
      typeof arg === 'string' ? (arg.split(/\.(.*)/s) as [string, string]) : Array.isArray(arg) ? (arg as [string, string]) : [];
    if (typeof name !== 'string' || typeof attribute !== 'string') return err(at, 'Fn::GetAtt takes [resource, attribute]');
    const resource = resources[name];
    if (!isObject(resource)) return err(at, `Fn::GetAtt of ${name}, which is not a resource`);
    const type = spec.resources.get(String(resource.Type));
    if (type && !(attribute in (type.attributes ?? {}))) err(at, `${resource.Type} has no attribute ${attribute}`);
  };

  const checkSub = (arg: Json, at: string) => {
    const [text, vars] =
      typeof arg === 'string'
        ? [arg, {}]
        : Array.isArray(arg) && typeof arg[0] === 'string' && isObject(arg[1] ?? {})
          ? [arg[0], (arg[1] ?? {}) as Record<string, Json>]
          : [undefined, {}];
    if (text === undefined) return err(at, 'Fn::Sub takes a string or [string, {variables}]');
    for (const [, name] of text.matchAll(/\$\{([^!}][^}]*)\}/g)) {
      const ref = name?.trim() ?? '';
      if (ref in vars || refable(ref)) continue;
      const [resource] = ref.split('.');
      if (ref.includes('.') && resource && resource in resources) {
        checkGetAtt(ref, `${at} \${${ref}}`);
        continue;
      }
      err(at, `Fn::Sub variable \${${ref}} names nothing`);
    }
  };

  /** Property names against the specification, through nested property types. */
  const properties = (value: Json, entity: SpecEntity, path: string): void => {
    if (!isObject(value)) return;
    if (Object.keys(value).some(isIntrinsicKey)) return; // computed: checked as an intrinsic
    for (const [name, v] of Object.entries(value)) {
      const prop = entity.properties[name];
      if (!prop) {
        err(`${path}.${name}`, `unknown property (known: ${Object.keys(entity.properties).sort().join(', ')})`);
        continue;
      }
      shape(v, prop.type, `${path}.${name}`);
    }
    for (const [name, prop] of Object.entries(entity.properties)) {
      if (prop.required && !(name in value)) err(path, `required property ${name} is missing`);
    }
  };
  const shape = (v: Json, type: SpecType, path: string): void => {
    if (isObject(v) && Object.keys(v).some(isIntrinsicKey)) return;
    if (type.type === 'ref' && type.reference) {
      const target = spec.types.get(type.reference.$ref);
      if (Array.isArray(v)) err(path, 'expected an object, found a list');
      else if (target && isObject(v)) properties(v, target, path);
    } else if (type.type === 'array' && type.element) {
      if (isObject(v)) err(path, 'expected a list, found an object');
      else if (Array.isArray(v)) for (const [i, e] of v.entries()) shape(e, type.element as SpecType, `${path}[${i}]`);
    } else if (type.type === 'union' && type.types) {
      // One of several shapes: accepted if any fits without errors.
      const before = errors.length;
      const fits = type.types.some((t) => {
        const mark = errors.length;
        shape(v, t, path);
        const ok = errors.length === mark;
        errors.length = mark;
        return ok;
      });
      if (!fits) err(path, 'fits none of the property type\u2019s shapes');
      errors.length = Math.max(errors.length, before);
    }
  };

  for (const [name, resource] of Object.entries(resources)) {
    const path = `Resources.${name}`;
    if (!/^[A-Za-z0-9]+$/.test(name)) err(path, 'logical IDs are alphanumeric');
    if (!isObject(resource)) {
      err(path, 'not an object');
      continue;
    }
    for (const key of Object.keys(resource)) if (!RESOURCE_KEYS.has(key)) err(`${path}.${key}`, 'not a resource attribute');
    const type = String(resource.Type);
    if (typeof resource.Condition === 'string' && !(resource.Condition in conditions))
      err(`${path}.Condition`, `condition ${resource.Condition} is not declared`);
    for (const dep of [resource.DependsOn ?? []].flat())
      if (typeof dep !== 'string' || !(dep in resources)) err(`${path}.DependsOn`, `${String(dep)} is not a resource`);
    intrinsics(resource.Properties, `${path}.Properties`);
    if (type.startsWith('Custom::') || type === 'AWS::CloudFormation::CustomResource') continue;
    const entity = spec.resources.get(type);
    if (!entity) {
      err(`${path}.Type`, `unknown resource type ${type}`);
      continue;
    }
    properties(resource.Properties ?? {}, entity, `${path}.Properties`);
  }

  for (const [name, condition] of Object.entries(conditions)) {
    const path = `Conditions.${name}`;
    if (
      !isObject(condition) ||
      Object.keys(condition).length !== 1 ||
      !['Fn::Equals', 'Fn::And', 'Fn::Or', 'Fn::Not', 'Condition'].includes(Object.keys(condition)[0] as string)
    ) {
      err(path, 'a condition is one of Fn::Equals, Fn::And, Fn::Or, Fn::Not, Condition');
      continue;
    }
    intrinsics(condition, path);
    const equals = condition['Fn::Equals'];
    if (Array.isArray(equals) && equals.every((v) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')) {
      err(
        path,
        `always ${String(equals[0]) === String(equals[1])}: it compares two literals (${JSON.stringify(equals)}); use a template parameter or drop it`,
      );
    }
  }

  for (const [name, output] of Object.entries(isObject(template.Outputs) ? template.Outputs : {})) {
    const path = `Outputs.${name}`;
    if (!isObject(output) || !('Value' in output)) {
      err(path, 'an output needs a Value');
      continue;
    }
    for (const key of Object.keys(output))
      if (!['Value', 'Description', 'Export', 'Condition'].includes(key)) err(`${path}.${key}`, 'not an output field');
    if (isObject(output.Value) && Object.keys(output.Value).length !== 1)
      err(`${path}.Value`, `one intrinsic function per value, found ${Object.keys(output.Value).join(', ')}`);
    if (typeof output.Condition === 'string' && !(output.Condition in conditions))
      err(`${path}.Condition`, `condition ${output.Condition} is not declared`);
    intrinsics(output.Value, `${path}.Value`);
  }

  for (const [name, parameter] of Object.entries(parameters)) {
    if (!isObject(parameter) || typeof parameter.Type !== 'string') err(`Parameters.${name}`, 'a parameter needs a Type');
  }
  return errors;
}
