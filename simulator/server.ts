/**
 * HTTP front of the simulator, speaking the Amazon MQ REST API (restJson1) the way the service does: same
 * paths, lowerCamel JSON names, enums, error types in `x-amzn-ErrorType` and status codes. The Region of a
 * request is read from its SigV4 credential scope, so one port serves every Region and a client configured
 * for us-west-2 sees only that Region's brokers, as on AWS. Signatures are not verified.
 *
 * On the same port, `POST /` serves what the orchestrator needs of three more services: CloudWatch
 * GetMetricData (./cloudwatch.ts), SNS Publish (./sns.ts) and SSM Put/GetParameter (./ssm.ts); and
 * `/schedules/{Name}` EventBridge Scheduler's Create/DeleteSchedule (./scheduler.ts).
 *
 * Besides the API, `/_simulator/*` injects faults and load (JSON bodies):
 *   GET  /_simulator/state
 *   POST /_simulator/regions/{region}   {"up": false}     (API answers 500, endpoints refuse connections)
 *   POST /_simulator/regions/{region}   {"hung": true}    (API and endpoints accept connections, never answer)
 *   POST /_simulator/regions/{region}/api  {"fault": "hang"} | {"fault": "slow", "seconds": 8} | {"fault": "none"}
 *   POST /_simulator/partition          {"partitioned": true}
 *   POST /_simulator/brokers/{id}/endpoints  {"up": false}   (API answers, broker refuses connections)
 *   POST /_simulator/brokers/{id}/endpoints  {"hung": true}  (API answers, broker accepts and never answers)
 *   POST /_simulator/brokers/{id}/endpoints  {"urls": ["stomp://127.0.0.1:61613"]}   (report a real broker's
 *                                       endpoints instead of the simulated listener's; [] restores them)
 *   POST /_simulator/pairs/{name}/load  {"messagesPerSecond": 50}
 *   POST /_simulator/faults             {"operation": "Promote", "fault": "throttle", "count": 2}
 *                                       (operations: DescribeBroker, Promote, PutParameter;
 *                                        faults: throttle, server-error, bad-request, lost-response)
 *   POST /_simulator/faults/clear
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AwsJsonError } from './aws-json.ts';
import { CLOUDWATCH_TARGET_PREFIX, cloudWatch } from './cloudwatch.ts';
import { SchedulerError, scheduler } from './scheduler.ts';
import { SECRETS_MANAGER_TARGET_PREFIX, secretsManager } from './secrets-manager.ts';
import { sns, snsError } from './sns.ts';
import { SSM_TARGET_PREFIX, ssm } from './ssm.ts';
import {
  API_FAULTS,
  type ApiFault,
  type CrdrWorld,
  FAULTABLE,
  type FaultableOperation,
  type SimBroker,
  SimError,
} from './world.ts';

const MAX_BODY_BYTES = 64 * 1024;

/** `Credential=AKID/20261123/us-west-2/mq/aws4_request` -> us-west-2 (for the signing name `service`). */
export const regionOf = (req: IncomingMessage, service = 'mq'): string | undefined => {
  const scope = /Credential=[^/]+\/\d{8}\/([a-z0-9-]+)\/([a-z0-9-]+)\//.exec(req.headers.authorization ?? '');
  return scope?.[2] === service ? scope[1] : undefined;
};

export function describeBrokerJson(world: CrdrWorld, b: SimBroker) {
  const counterpart = world
    .pair(b.pairName)
    .brokerIds.map((id) => world.brokers.get(id) as SimBroker)
    .find((x) => x.id !== b.id);
  const pendingRole = world.pendingRole(b);
  const replicationUser = 'replication-user';
  return {
    authenticationStrategy: 'SIMPLE',
    autoMinorVersionUpgrade: true,
    brokerArn: b.arn,
    brokerId: b.id,
    // A running primary lists its instances whether or not they answer (as on AWS); none during a promotion; a
    // replica's only if the world says so (unpublished).
    brokerInstances:
      (b.role === 'PRIMARY' || world.replicaListsEndpoints) && !world.pair(b.pairName).promotion
        ? [{ consoleURL: `https://127.0.0.1:${b.port ?? 0}`, endpoints: world.endpoints(b), ipAddress: '127.0.0.1' }]
        : [],
    brokerName: b.name,
    brokerState: world.brokerState(b),
    created: b.created.toISOString(),
    dataReplicationMetadata: {
      dataReplicationCounterpart: counterpart ? { brokerId: counterpart.id, region: counterpart.region } : undefined,
      dataReplicationRole: b.role,
    },
    dataReplicationMode: 'CRDR',
    ...(pendingRole
      ? {
          pendingDataReplicationMetadata: {
            dataReplicationCounterpart: counterpart ? { brokerId: counterpart.id, region: counterpart.region } : undefined,
            dataReplicationRole: pendingRole,
          },
        }
      : {}),
    deploymentMode: 'ACTIVE_STANDBY_MULTI_AZ',
    encryptionOptions: { useAwsOwnedKey: true },
    engineType: 'ACTIVEMQ',
    engineVersion: '5.18',
    hostInstanceType: 'mq.m5.large',
    logs: { audit: false, general: false },
    publiclyAccessible: false,
    storageType: 'EFS',
    tags: {},
    users: [{ username: 'admin' }, { username: replicationUser }],
  };
}

function send(res: ServerResponse, status: number, body: unknown, errorType?: string): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': crypto.randomUUID(),
    ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
  });
  res.end(text);
}

function sendError(res: ServerResponse, error: SimError): void {
  send(
    res,
    error.status,
    { message: error.message, ...(error.errorAttribute ? { errorAttribute: error.errorAttribute } : {}) },
    error.type,
  );
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new SimError('BadRequestException', 400, `request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const text = await readBody(req);
  if (text.length === 0) return {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // fall through to the error below
  }
  throw new SimError('BadRequestException', 400, 'request body must be a JSON object');
}

async function route(world: CrdrWorld, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(`http://simulator${req.url ?? '/'}`);
  const path = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const method = req.method ?? 'GET';

  if (path[0] === '_simulator') return admin(world, method, path.slice(1), req, res);
  if (method === 'POST' && path.length === 0) return otherService(world, req, res);

  if (path[0] === 'schedules' && path[1]) {
    const schedulerRegion = regionOf(req, 'scheduler');
    if (!schedulerRegion) throw new SimError('ForbiddenException', 403, 'sign requests for service scheduler');
    const body = method === 'POST' ? await readJson(req) : {};
    try {
      const answer = scheduler(world, schedulerRegion, method, path[1], url.searchParams, body);
      return send(res, answer.status, answer.body);
    } catch (error) {
      if (!(error instanceof SchedulerError)) throw error;
      return send(res, error.status, { message: error.message }, error.type);
    }
  }

  const region = regionOf(req);
  if (!region) {
    throw new SimError(
      'ForbiddenException',
      403,
      'Missing or malformed SigV4 Authorization header: sign requests for service mq',
    );
  }
  if (path[0] !== 'v1' || path[1] !== 'brokers')
    throw new SimError('NotFoundException', 404, `no route for ${method} ${url.pathname}`);
  const brokerId = path[2];
  // Every call counts against the account's one Amazon MQ API budget, whatever it is answered.
  world.countApiCall(!brokerId ? 'ListBrokers' : path[3] === 'promote' ? 'Promote' : 'DescribeBroker', region);

  if (method === 'GET' && !brokerId) {
    const maxResults = Number(url.searchParams.get('maxResults') ?? 100);
    if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > 100) {
      throw new SimError('BadRequestException', 400, 'maxResults must be an integer from 1 to 100', 'maxResults');
    }
    const start = Number(url.searchParams.get('nextToken') ?? 0);
    const all = world.listBrokers(region);
    const page = all.slice(start, start + maxResults);
    return send(res, 200, {
      brokerSummaries: page.map((b) => ({
        brokerArn: b.arn,
        brokerId: b.id,
        brokerName: b.name,
        brokerState: world.brokerState(b),
        created: b.created.toISOString(),
        deploymentMode: 'ACTIVE_STANDBY_MULTI_AZ',
        engineType: 'ACTIVEMQ',
        hostInstanceType: 'mq.m5.large',
      })),
      ...(start + maxResults < all.length ? { nextToken: String(start + maxResults) } : {}),
    });
  }
  if (method === 'GET' && brokerId && path.length === 3) {
    return send(
      res,
      200,
      world.withFault('DescribeBroker', () => describeBrokerJson(world, world.describe(region, brokerId))),
    );
  }
  if (method === 'POST' && brokerId && path[3] === 'promote' && path.length === 4) {
    const body = await readJson(req);
    try {
      world.withFault('Promote', () => world.promote(region, brokerId, String(body.mode ?? '')));
    } finally {
      await world.syncListeners();
    }
    return send(res, 200, { brokerId });
  }
  throw new SimError('NotFoundException', 404, `the simulator does not implement ${method} ${url.pathname}`);
}

/** The awsJson services, told apart by their x-amz-target: CloudWatch (awsJson1_0), SSM and Secrets Manager (1_1). */
const AWS_JSON_SERVICES = [
  { prefix: CLOUDWATCH_TARGET_PREFIX, signingName: 'monitoring', handle: cloudWatch },
  { prefix: SSM_TARGET_PREFIX, signingName: 'ssm', handle: ssm },
  { prefix: SECRETS_MANAGER_TARGET_PREFIX, signingName: 'secretsmanager', handle: secretsManager },
];

/** An awsJson service, or SNS (awsQuery, form-encoded). */
async function otherService(world: CrdrWorld, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const target = String(req.headers['x-amz-target'] ?? '');
  const body = await readBody(req);
  const service = AWS_JSON_SERVICES.find((s) => target.startsWith(s.prefix));
  if (service) {
    try {
      const region = regionOf(req, service.signingName);
      if (!region) throw new AwsJsonError('MissingAuthenticationToken', 403, `sign requests for service ${service.signingName}`);
      return send(res, 200, service.handle(world, region, target.slice(service.prefix.length), parseAwsJson(body)));
    } catch (error) {
      if (!(error instanceof AwsJsonError)) throw error;
      return send(res, error.status, { __type: error.type, message: error.message }, error.type);
    }
  }
  const region = regionOf(req, 'sns');
  const answer = region
    ? sns(world, region, new URLSearchParams(body))
    : snsError(403, 'InvalidClientTokenId', 'sign requests for service sns');
  res.writeHead(answer.status, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(answer.xml) });
  res.end(answer.xml);
}

function parseAwsJson(text: string): unknown {
  try {
    return JSON.parse(text || '{}');
  } catch {
    throw new AwsJsonError('SerializationException', 400, 'request body is not JSON');
  }
}

async function admin(world: CrdrWorld, method: string, path: string[], req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (method === 'GET' && path[0] === 'state') return send(res, 200, snapshot(world));
  if (method !== 'POST') throw new SimError('NotFoundException', 404, 'unknown simulator admin route');
  const body = await readJson(req);
  if (path[0] === 'regions' && path[1] && typeof body.up === 'boolean') {
    world.setRegionUp(path[1], body.up);
  } else if (path[0] === 'regions' && path[1] && typeof body.hung === 'boolean') {
    world.setRegionHung(path[1], body.hung);
  } else if (path[0] === 'regions' && path[1] && path[2] === 'api' && isApiFault(body)) {
    world.setApiFault(
      path[1],
      body.fault === 'none'
        ? undefined
        : body.fault === 'hang'
          ? { kind: 'hang' }
          : { kind: 'slow', ms: Math.round((body.seconds ?? 0) * 1000) },
    );
  } else if (
    path[0] === 'brokers' &&
    path[1] &&
    path[2] === 'endpoints' &&
    (typeof body.up === 'boolean' || typeof body.hung === 'boolean')
  ) {
    if (!world.brokers.has(path[1])) throw new SimError('NotFoundException', 404, `broker ${path[1]} does not exist`);
    if (typeof body.up === 'boolean') world.setEndpointsUp(path[1], body.up);
    if (typeof body.hung === 'boolean') world.setEndpointsHung(path[1], body.hung);
  } else if (
    path[0] === 'brokers' &&
    path[1] &&
    path[2] === 'endpoints' &&
    Array.isArray(body.urls) &&
    body.urls.every((u) => typeof u === 'string' && /^[a-z+]+:\/\/\S+$/.test(u))
  ) {
    world.setExternalEndpoints(path[1], body.urls as string[]);
  } else if (path[0] === 'faults' && path[1] === 'clear') {
    world.clearFaults();
  } else if (path[0] === 'faults' && isFault(body)) {
    world.injectFault(body.operation, body.fault, body.count ?? 1);
  } else if (path[0] === 'partition' && typeof body.partitioned === 'boolean') {
    world.setPartitioned(body.partitioned);
  } else if (
    path[0] === 'pairs' &&
    path[1] &&
    path[2] === 'load' &&
    typeof body.messagesPerSecond === 'number' &&
    body.messagesPerSecond >= 0
  ) {
    world.setProduceRate(path[1], body.messagesPerSecond);
  } else {
    throw new SimError('BadRequestException', 400, 'unknown admin route or body; see the header of simulator/server.ts');
  }
  await world.syncListeners();
  return send(res, 200, snapshot(world));
}

const isApiFault = (body: Record<string, unknown>): body is { fault: 'hang' | 'slow' | 'none'; seconds?: number } =>
  body.fault === 'hang' ||
  body.fault === 'none' ||
  (body.fault === 'slow' && typeof body.seconds === 'number' && body.seconds > 0 && body.seconds <= 600);

const isFault = (body: Record<string, unknown>): body is { operation: FaultableOperation; fault: ApiFault; count?: number } =>
  (FAULTABLE as readonly unknown[]).includes(body.operation) &&
  (API_FAULTS as readonly unknown[]).includes(body.fault) &&
  (body.count === undefined || (Number.isInteger(body.count) && (body.count as number) >= 1 && (body.count as number) <= 100));

export function snapshot(world: CrdrWorld) {
  world.sync();
  return {
    regionsDown: [...world.regionsDown],
    regionsHung: [...world.regionsHung],
    apiFaults: Object.fromEntries(world.apiFaults),
    partitioned: world.partitioned,
    pairs: [...world.pairs.values()].map((p) => {
      const { primary, replica } = world.roles(p.name);
      return {
        name: p.name,
        primary: { brokerId: primary.id, region: primary.region, endpoints: world.endpoints(primary) },
        replica: { brokerId: replica.id, region: replica.region },
        // QueueSize: events not yet acknowledged by the replica.
        queueSize: Math.round(p.queue.size),
        promotion: p.promotion?.mode ?? null,
        unreplicatedOnOldPrimary: p.unreplicatedOnOldPrimary,
        produceRate: p.produceRate,
        drainRate: p.drainRate,
      };
    }),
  };
}

export interface RunningSimulator {
  server: Server;
  endpoint: string;
  close(): Promise<void>;
}

/** The Region a request is signed for, whatever the service (`Credential=AKID/20261123/us-east-1/ssm/…`). */
const signedRegion = (req: IncomingMessage): string | undefined =>
  /Credential=[^/]+\/\d{8}\/([a-z0-9-]+)\//.exec(req.headers.authorization ?? '')?.[1];

export async function startSimulator(world: CrdrWorld, port = 0, host = '127.0.0.1'): Promise<RunningSimulator> {
  await world.syncListeners();
  const server = createServer((req, res) => {
    const handle = () =>
      route(world, req, res)
        .then(() => world.syncListeners())
        .catch((error: unknown) => {
          if (error instanceof SimError) return sendError(res, error);
          sendError(res, new SimError('InternalServerErrorException', 500, `simulator error: ${String(error)}`));
        });
    const region = req.url?.startsWith('/_simulator') ? undefined : signedRegion(req);
    const fault = region === undefined ? undefined : world.apiFaultIn(region);
    // A hung Region takes the request and never answers: the caller's timeout ends it (close() drops it).
    if (fault?.kind === 'hang') return;
    if (fault?.kind === 'slow') setTimeout(handle, fault.ms);
    else void handle();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    server,
    endpoint: `http://${host}:${bound}`,
    close: async () => {
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeAllConnections();
      await closed;
      await world.close();
    },
  };
}
