/**
 * A local stand-in for API Gateway in front of the `api` function: it verifies each request's SigV4
 * signature (service execute-api) against the local credentials as IAM authorization does, answers 403 the
 * way API Gateway does when it fails, and otherwise invokes the handler with an HTTP API payload 2.0 event
 * carrying the caller's IAM identity.
 */

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { lambdaContext } from './lambda-context.ts';

export interface LocalUser {
  secretAccessKey: string;
  userArn: string;
}

export type ApiHandler = (
  event: APIGatewayProxyEventV2WithIAMAuthorizer,
  context: Context,
) => Promise<Exclude<APIGatewayProxyResultV2, string>>;

/** API Gateway's payload limit. */
const MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;
/** SigV4 signatures are accepted within 5 minutes of the server's clock. */
const MAX_SKEW_MS = 5 * 60_000;

const AUTH =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([a-z0-9-]+)\/execute-api\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

class Forbidden extends Error {}

const amzDate = (s: string): number => {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  return m ? Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`) : Number.NaN;
};

async function verify(req: IncomingMessage, url: URL, body: string, users: Record<string, LocalUser>) {
  const match = AUTH.exec(req.headers.authorization ?? '');
  if (!match) throw new Forbidden('Forbidden');
  const [, accessKeyId, , region, signedHeaders, signature] = match as unknown as string[];
  const user = users[accessKeyId as string];
  if (!user) throw new Forbidden('The security token included in the request is invalid.');
  const signedAt = amzDate(String(req.headers['x-amz-date'] ?? ''));
  if (!Number.isFinite(signedAt) || Math.abs(Date.now() - signedAt) > MAX_SKEW_MS) throw new Forbidden('Signature expired');
  const headers: Record<string, string> = {};
  for (const name of (signedHeaders as string).split(';')) headers[name] = String(req.headers[name] ?? '');
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = v;
  const signer = new SignatureV4({
    credentials: { accessKeyId: accessKeyId as string, secretAccessKey: user.secretAccessKey },
    region: region as string,
    service: 'execute-api',
    sha256: Sha256,
  });
  const expected = await signer.sign(
    new HttpRequest({
      method: req.method ?? 'GET',
      protocol: 'http:',
      hostname: url.hostname,
      path: url.pathname,
      query,
      headers,
      body,
    }),
    { signingDate: new Date(signedAt) },
  );
  const computed = /Signature=([0-9a-f]{64})/.exec(String(expected.headers.authorization))?.[1];
  if (computed !== signature) {
    throw new Forbidden(
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
    );
  }
  return { accessKeyId: accessKeyId as string, user };
}

export async function startLocalGateway(options: {
  handler: ApiHandler;
  users: Record<string, LocalUser>;
  port?: number;
  host?: string;
}): Promise<{ endpoint: string; close(): Promise<void> }> {
  const host = options.host ?? '127.0.0.1';
  const server = createServer((req, res) => {
    serve(req, res).catch((error: unknown) => reply(res, 500, { message: `local gateway error: ${String(error)}` }));
  });
  const reply = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', ...headers, 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_PAYLOAD_BYTES) return reply(res, 413, { message: 'Request Entity Too Large' });
      chunks.push(chunk as Buffer);
    }
    const body = Buffer.concat(chunks).toString('utf8');
    // Joined, not resolved: a path such as `//x` is a path here, not a protocol-relative URL.
    const url = new URL(`http://${req.headers.host ?? host}${req.url ?? '/'}`);
    let caller: Awaited<ReturnType<typeof verify>>;
    try {
      caller = await verify(req, url, body, options.users);
    } catch (error) {
      if (error instanceof Forbidden) return reply(res, 403, { message: error.message });
      throw error;
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
    const now = new Date();
    const accountId = /^arn:aws:iam::(\d{12}):/.exec(caller.user.userArn)?.[1] ?? '123456789012';
    const query = url.searchParams.size > 0 ? Object.fromEntries(url.searchParams) : undefined;
    const event: APIGatewayProxyEventV2WithIAMAuthorizer = {
      version: '2.0',
      routeKey: '$default',
      rawPath: url.pathname,
      rawQueryString: url.search.slice(1),
      headers,
      ...(query ? { queryStringParameters: query } : {}),
      requestContext: {
        accountId,
        apiId: 'local',
        domainName: url.host,
        domainPrefix: 'local',
        http: {
          method: req.method ?? 'GET',
          path: url.pathname,
          protocol: 'HTTP/1.1',
          sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
          userAgent: headers['user-agent'] ?? '',
        },
        requestId: crypto.randomUUID(),
        routeKey: '$default',
        stage: '$default',
        time: now.toUTCString(),
        timeEpoch: now.getTime(),
        authorizer: {
          iam: {
            accessKey: caller.accessKeyId,
            accountId,
            callerId: caller.accessKeyId,
            cognitoIdentity: null,
            principalOrgId: '',
            userArn: caller.user.userArn,
            userId: caller.accessKeyId,
          },
        },
      },
      ...(body ? { body } : {}),
      isBase64Encoded: false,
    };
    const result = await options.handler(event, lambdaContext('api', 29_000));
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(result.headers ?? {})) out[k] = String(v);
    reply(res, result.statusCode ?? 200, result.body ?? '', out);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${host}:${port}`,
    close: () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      return closed;
    },
  };
}
