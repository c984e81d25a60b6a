/**
 * A loopback proxy in front of dynalite that makes chosen DynamoDB calls fail the way the service fails them,
 * on the wire: the orchestrator's real DynamoDB client sees the same status codes and `__type`s as on AWS.
 */
import { createServer, type IncomingMessage, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FaultQueue } from '#simulator/faults.ts';

export const DYNAMO_FAULTS = ['throttle', 'server-error', 'conditional-failure', 'lost-response'] as const;
export type DynamoFault = (typeof DYNAMO_FAULTS)[number];
/** The operations the orchestrator's store calls. */
export type DynamoOperation = 'GetItem' | 'PutItem' | 'BatchWriteItem' | 'Query';

const TYPE = 'com.amazonaws.dynamodb.v20120810#';
const ANSWERS: Record<Exclude<DynamoFault, 'lost-response'>, { status: number; type: string; message: string }> = {
  throttle: {
    status: 400,
    type: 'ProvisionedThroughputExceededException',
    message: 'The level of configured provisioned throughput for the table was exceeded (injected)',
  },
  'server-error': { status: 500, type: 'InternalServerError', message: 'Internal server error (injected)' },
  'conditional-failure': {
    status: 400,
    type: 'ConditionalCheckFailedException',
    message: 'The conditional request failed (injected)',
  },
};

export interface DynamoFaultProxy {
  endpoint: string;
  /** The next `count` calls of `operation` meet `fault`. */
  inject(operation: DynamoOperation, fault: DynamoFault, count?: number): void;
  clear(): void;
  /**
   * A table that is down until set back (undefined): every call naming it fails as DynamoDB fails an impaired
   * table (500 InternalServerError, which the client retries) or hangs without an answer.
   */
  setTableDown(tableName: string, how: 'fail' | 'hang' | undefined): void;
  /** How many injected faults are still armed. */
  readonly armed: number;
  /** Bytes of the answers passed back so far: what the client read from DynamoDB. */
  readonly bytesRead: number;
  close(): Promise<void>;
}

const readAll = async (stream: IncomingMessage): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

export async function startDynamoFaultProxy(target: string): Promise<DynamoFaultProxy> {
  const upstream = new URL(target);
  const faults = new FaultQueue<string, DynamoFault>();
  const down = new Map<string, 'fail' | 'hang'>();
  const hanging = new Set<() => void>();
  let bytesRead = 0;
  /** The table a call names: TableName, or the first of a batch's RequestItems. */
  const tableOf = (body: Buffer): string | undefined => {
    try {
      const parsed = JSON.parse(body.toString('utf8')) as { TableName?: string; RequestItems?: Record<string, unknown> };
      return parsed.TableName ?? Object.keys(parsed.RequestItems ?? {})[0];
    } catch {
      return undefined;
    }
  };

  const forward = (req: IncomingMessage, body: Buffer) =>
    new Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }>((resolve, reject) => {
      const out = request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
        (res) => readAll(res).then((b) => resolve({ status: res.statusCode ?? 500, headers: res.headers, body: b }), reject),
      );
      out.once('error', reject);
      out.end(body);
    });

  const server = createServer((req, res) => {
    const reply = (status: number, type: string, message: string) => {
      const text = JSON.stringify({ __type: `${TYPE}${type}`, message });
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    (async () => {
      const body = await readAll(req);
      const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
      const table = tableOf(body);
      const outage = table === undefined ? undefined : down.get(table);
      if (outage === 'fail') return reply(500, 'InternalServerError', `table ${table} is impaired (injected)`);
      if (outage === 'hang') {
        // Held until the client gives up (its request timeout) or the proxy closes.
        await new Promise<void>((resolve) => {
          const release = () => resolve();
          hanging.add(release);
          req.socket.once('close', () => {
            hanging.delete(release);
            resolve();
          });
        });
        return;
      }
      const fault = faults.take(operation);
      if (fault && fault !== 'lost-response') {
        const answer = ANSWERS[fault];
        return reply(answer.status, answer.type, answer.message);
      }
      const answer = await forward(req, body);
      if (fault === 'lost-response') return reply(500, 'InternalServerError', `${operation} applied, response lost (injected)`);
      bytesRead += answer.body.length;
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body);
    })().catch((error: unknown) => reply(500, 'InternalServerError', `fault proxy: ${String(error)}`));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    inject: (operation, fault, count = 1) => faults.inject(operation, fault, count),
    clear: () => faults.clear(),
    setTableDown: (tableName, how) => {
      if (how) down.set(tableName, how);
      else down.delete(tableName);
    },
    get armed() {
      return faults.armed;
    },
    get bytesRead() {
      return bytesRead;
    },
    close: () =>
      new Promise((resolve) => {
        for (const release of hanging) release();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
