/**
 * A real ActiveMQ broker (Debian's `activemq` package) in memory on loopback ports, one per simulated Region.
 * Started straight from activemq.jar: the packaged xbean config and init script are not needed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StompEndpoint } from '../src/index.ts';
import { connectStomp } from '../src/stomp.ts';
import { sleep } from '../src/store.ts';

const ACTIVEMQ_HOME = process.env.ACTIVEMQ_HOME ?? '/usr/share/activemq';

export interface LocalBroker {
  name: string;
  stomp: StompEndpoint;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function startActiveMq(name: string): Promise<LocalBroker> {
  const jar = join(ACTIVEMQ_HOME, 'bin', 'activemq.jar');
  if (!existsSync(jar)) {
    throw new Error(`ActiveMQ not found at ${jar}: install Debian's package (apt-get install -y activemq) or set ACTIVEMQ_HOME`);
  }
  const [stompPort, tcpPort] = [await freePort(), await freePort()];
  const base = mkdtempSync(join(tmpdir(), `activemq-${name}-`));
  const uri = `broker:(stomp://127.0.0.1:${stompPort},tcp://127.0.0.1:${tcpPort})?brokerName=${name}&persistent=false&useJmx=false`;
  const java: ChildProcess = spawn(
    'java',
    [
      '-Xms64m',
      '-Xmx256m',
      `-Dactivemq.home=${ACTIVEMQ_HOME}`,
      `-Dactivemq.base=${base}`,
      `-Dactivemq.conf=${base}`,
      `-Dactivemq.data=${join(base, 'data')}`,
      '-jar',
      jar,
      'start',
      uri,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  java.stderr?.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-2000);
  });
  const exited = new Promise<void>((resolve) => java.once('exit', () => resolve()));
  const stomp: StompEndpoint = { host: '127.0.0.1', port: stompPort, tls: false };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (java.exitCode !== null) throw new Error(`ActiveMQ ${name} exited with ${java.exitCode}: ${stderr}`);
    try {
      const probe = await connectStomp(stomp, 2000);
      await probe.deactivate();
      break;
    } catch (error) {
      if (Date.now() > deadline) {
        java.kill('SIGKILL');
        throw new Error(`ActiveMQ ${name} did not accept STOMP on ${stompPort} within 60 s: ${String(error)} ${stderr}`);
      }
      await sleep(250);
    }
  }
  return {
    name,
    stomp,
    async stop() {
      java.kill('SIGKILL');
      await exited;
      rmSync(base, { recursive: true, force: true });
    },
  };
}
