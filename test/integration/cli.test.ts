/**
 * The CLI end to end on the embedded default: its commands sign real HTTP requests to the local gateway,
 * which runs the real API handler against the simulator and dynalite. `watch` polls while the test's sleep
 * moves the manual clock and plays AWS's periodic triggers.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { type Io, main } from '#cli/mqdr.ts';
import { type Embedded, LOCAL_CREDENTIALS, ManualClock, startEmbedded } from '#simulator/embedded.ts';

const T0 = Date.parse('2026-11-23T09:00:00Z');
let env: Embedded | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

async function start(pair: { produceRate?: number; drainRate?: number; backlog?: number }) {
  const clock = new ManualClock(T0);
  env = await startEmbedded({ clock, env: { DEADLINE_SECONDS: '300' }, pair });
  return { e: env, clock };
}

/**
 * Runs `mqdr` in-process; `answer` is what the operator types at a confirmation prompt (no prompt if absent);
 * `tty` gives it a terminal's live line, whose every rewrite is kept in `live`.
 */
function cli(e: Embedded, clock: ManualClock, answer?: string, tty = false) {
  const live: string[] = [];
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    ...(answer !== undefined ? { ask: async () => answer } : {}),
    ...(tty ? { live: (line: string) => live.push(line) } : {}),
    env: { MQDR_ENDPOINT: e.apiEndpoint },
    localCredentials: LOCAL_CREDENTIALS,
    now: () => clock.now(),
    // Between two polls: 5 s pass, and AWS's schedules run (deadline, sweep, health check once a minute).
    sleep: async (ms) => {
      clock.advance(ms);
      await e.world.syncListeners();
      await e.scheduler.runDue();
      if ((clock.now() - T0) % 60_000 === 0) await e.invoke.escalate({ kind: 'sweep' });
    },
  };
  return {
    run: async (...argv: string[]) => {
      out.length = 0;
      err.length = 0;
      return main(argv, io);
    },
    out,
    err,
    live,
  };
}

describe('mqdr', () => {
  it('status lists the pair and shows one pair at a glance', async () => {
    const { e, clock } = await start({});
    const c = cli(e, clock);
    expect(await c.run('status')).toBe(0);
    expect(c.out).toEqual([
      expect.stringMatching(/^PAIR\s+PRIMARY\s+OPERATION\s+NOT REPLICATED\s+ESCALATION$/),
      expect.stringMatching(new RegExp(`^orders\\s+${e.primary.id} \\(us-east-1\\)\\s+none\\s+0 events, 0 s\\s+armed$`)),
    ]);
    // The columns line up under their headers.
    expect(c.out[1]?.indexOf(e.primary.id)).toBe(c.out[0]?.indexOf('PRIMARY'));
    expect(await c.run('status', 'orders')).toBe(0);
    expect(c.out.join('\n')).toContain(`local   ${e.replica.id}  us-west-2  REPLICA  REPLICA`);
    expect(c.out.join('\n')).toContain('hold    none: automatic escalation is armed');
  });

  it('switchover --watch follows the operation live until it completes', async () => {
    const { e, clock } = await start({ backlog: 3_000, drainRate: 100, produceRate: 0 });
    const c = cli(e, clock);
    expect(await c.run('switchover', 'orders', '--reason', 'planned drill', '--watch', '--interval', '5')).toBe(0);
    const text = c.out.join('\n');
    expect(c.out[0]).toMatch(/^SWITCHOVER recorded: START_SWITCHOVER op-/);
    expect(text).toContain('SWITCHOVER_IN_PROGRESS  queue');
    expect(text).toMatch(/failover in 4m\d\ds/);
    // The backlog drains in 30 s; the sweep at the next minute observes and records the completion.
    // The recovery as the API returns it (the core's one definition): an operator's request is its own first evidence.
    expect(c.out.at(-1)).toMatch(
      /^SWITCHOVER op-\S+ COMPLETED: recovered 1m00s after the first evidence, 1m00s after the operation started$/,
    );
    expect(e.world.roles('orders').primary.id).toBe(e.replica.id);
    // status prints the same operation step by step, to the clients redirected at the completion.
    expect(await c.run('status', 'orders')).toBe(0);
    expect(c.out.find((l) => l.startsWith('  steps'))).toMatch(
      /^ {2}steps {3}detected \d\d:\d\d:\d\d · decided \+0s · Promote accepted \+0s · primary running \+1m00s · clients redirected \+1m00s$/,
    );
  });

  it('watch on a terminal keeps one live line: status, lag, drain rate and time of zero lag, deadline countdown', async () => {
    const { e, clock } = await start({ backlog: 30_000, drainRate: 100, produceRate: 0 });
    const c = cli(e, clock, undefined, true);
    expect(await c.run('switchover', 'orders', '-r', 'planned drill', '--watch', '--interval', '30')).toBe(0);
    // Decisions print as lines; the status is only ever the live line, rewritten in place.
    expect(c.out.some((l) => l.includes('SWITCHOVER_IN_PROGRESS  queue'))).toBe(false);
    expect(c.live.length).toBeGreaterThan(5);
    expect(c.live.find((l) => l.includes('draining'))).toMatch(
      /^\d\d:\d\d:\d\d {2}SWITCHOVER_IN_PROGRESS {2}queue \d+ events {2}draining 100 events\/s, empty at 09:05:\d\d {2}failover in \dm\d\ds$/,
    );
    expect(c.live.at(-1)).toMatch(/COMPLETED/);
  });

  it('a switchover escalated to a failover while watched exits 3 and says so; --json prints JSON; --version', async () => {
    const { e, clock } = await start({ backlog: 3_000, drainRate: 100, produceRate: 0 });
    e.world.setPartitioned(true); // the switchover cannot drain: the deadline escalates it
    const c = cli(e, clock);
    expect(await c.run('switchover', 'orders', '-r', 'planned drill', '--watch', '--json')).toBe(3);
    expect(JSON.parse(c.out[0] as string)).toMatchObject({ request: { kind: 'SWITCHOVER', action: 'START_SWITCHOVER' } });
    expect(JSON.parse(c.out.at(-1) as string)).toMatchObject({ operation: { mode: 'FAILOVER', status: 'COMPLETED' } });
    expect(c.err.join('\n')).toMatch(
      /the switchover was escalated to a FAILOVER \(RPO estimate \d+ events not replicated \(QueueSize\), [\d.]+ s of replication lag, datapoint of \S+, \d+ s old\): reconcile/,
    );
    expect(await c.run('--version')).toBe(0);
    expect(c.out).toEqual([expect.stringMatching(/^\d+\.\d+\.\d+$/)]);
    expect(await c.run('timeline', 'orders', '--json', '--limit', '2')).toBe(0);
    expect(c.out.map((l) => JSON.parse(l).action)).toContain('ESCALATE_TO_FAILOVER');
  });

  it('switchover --no-escalate: past its deadline it is still a switchover, and the timeline says who holds it', async () => {
    const { e, clock } = await start({ backlog: 3_000, drainRate: 100, produceRate: 0 });
    e.world.setPartitioned(true);
    const c = cli(e, clock);
    expect(await c.run('switchover', 'orders', '-r', 'planned move', '--no-escalate', '--watch', '--timeout', '420')).toBe(1);
    expect(c.err.join('\n')).toContain('still SWITCHOVER_IN_PROGRESS after 7m00s');
    expect(e.world.promoteLog.map((p) => p.mode)).toEqual(['SWITCHOVER']);
    expect(c.out.join('\n')).toContain('holds automatic escalation (started with escalation held: planned move)');
  });

  it('failover asks to type the pair id; a wrong answer or no terminal requests nothing', async () => {
    const { e, clock } = await start({ backlog: 3_000, drainRate: 1, produceRate: 0 });
    const wrong = cli(e, clock, 'payments');
    expect(await wrong.run('failover', 'orders', '-r', 'primary gone')).toBe(1);
    expect(wrong.err.join('\n')).toContain('not confirmed');
    const noTty = cli(e, clock);
    expect(await noTty.run('failover', 'orders', '-r', 'primary gone')).toBe(2);
    expect(noTty.err.join('\n')).toContain('pass --yes');
    expect(e.world.promoteLog).toEqual([]);

    const right = cli(e, clock, 'orders');
    expect(await right.run('failover', 'orders', '-r', 'primary gone', '--watch')).toBe(0);
    expect(right.err.join('\n')).toMatch(
      /If you fail over now: RPO estimate 3000 events not replicated \(QueueSize\), [\d.]+ s of replication lag, datapoint of \S+, \d+ s old\./,
    );
    expect(right.out[0]).toMatch(/^FAILOVER recorded: START_FAILOVER/);
    expect(right.out.at(-1)).toMatch(/^FAILOVER op-\S+ COMPLETED/);
    expect(e.world.promoteLog.map((p) => p.mode)).toEqual(['FAILOVER']);
  });

  it('retrying with the same idempotency key is answered as already handled; a refusal exits 1', async () => {
    const { e, clock } = await start({ backlog: 50_000, drainRate: 1, produceRate: 0 });
    const c = cli(e, clock);
    const args = ['switchover', 'orders', '-r', 'planned drill', '--idempotency-key', 'drill-2026-11-23'];
    expect(await c.run(...args)).toBe(0);
    const opId = c.out[0]?.split(' ').at(-1);
    expect(opId).toMatch(/^op-/);
    expect(await c.run(...args)).toBe(0);
    expect(c.out[0]).toBe(`SWITCHOVER already handled (same idempotency key): START_SWITCHOVER ${opId}`);
    expect(e.world.promoteLog).toHaveLength(1);
    expect(await c.run('switchover', 'orders', '-r', 'second one')).toBe(1);
    expect(c.out[0]).toBe(`SWITCHOVER recorded: REFUSE ${opId}`);
    expect(c.out[1]).toContain('already in flight');
  });

  it('hold and release are recorded; a hold with nothing in flight is refused; bad input exits 2 with what is wrong', async () => {
    const { e, clock } = await start({ backlog: 100_000, drainRate: 100, produceRate: 0 });
    const c = cli(e, clock);
    // Nothing to hold: refused with the reason (a hold left waiting would stop the next operation's escalation).
    expect(await c.run('hold', 'orders', '-r', 'on the bridge')).toBe(1);
    expect(c.out[0]).toBe('HOLD recorded: REFUSE');
    expect(c.out[1]).toContain('no operation in flight: nothing to hold');
    expect(await c.run('release', 'orders', '-r', 'nothing held')).toBe(4);
    expect(await c.run('switchover', 'orders', '-r', 'planned drill')).toBe(0);
    expect(await c.run('hold', 'orders', '-r', 'on the bridge')).toBe(0);
    expect(c.out[0]).toMatch(/^HOLD recorded: HOLD_ESCALATION op-/);
    expect(await c.run('release', 'orders', '-r', 'done')).toBe(0);
    expect(c.out[0]).toMatch(/^RELEASE recorded: RELEASE_ESCALATION op-/);
    expect(await c.run('hold', 'orders')).toBe(2);
    expect(c.err.join()).toContain("required option '-r, --reason <text>' not specified");
    expect(await c.run('hold', 'payments', '-r', 'wrong pair')).toBe(2);
    expect(c.err.join()).toContain('HTTP 404 unknown pair "payments"');
    expect(await c.run('status', 'orders', '--lag-minutes', 'soon')).toBe(2);
  });

  it('rearm and abandon are recorded, and say when there is nothing to do', async () => {
    const { e, clock } = await start({ backlog: 100_000, drainRate: 100, produceRate: 0 });
    const c = cli(e, clock);
    // Nothing to act on: exit 4, with the reason.
    expect(await c.run('rearm', 'orders', '-r', 'nothing disarmed')).toBe(4);
    expect(c.out[0]).toBe('REARM recorded: IGNORE');
    expect(c.err.join()).toContain('nothing to do');
    expect(await c.run('abandon', 'orders', '-r', 'nothing in flight')).toBe(4);
    expect(c.out[1]).toContain('no operation in flight');
    expect(await c.run('switchover', 'orders', '-r', 'planned drill', '--no-escalate')).toBe(0);
    expect(await c.run('abandon', 'orders', '-r', 'retry tonight')).toBe(0);
    expect(c.out[0]).toMatch(/^ABANDON recorded: ABANDON op-/);
    expect(c.out[1]).toContain('retry tonight; Amazon MQ still shows a promotion under way');
    expect(await c.run('abandon', 'orders')).toBe(2);
  });

  it('report writes the HTML report of the pair from the API', async () => {
    const { e, clock } = await start({ backlog: 3_000, drainRate: 100, produceRate: 0 });
    const c = cli(e, clock);
    await c.run('switchover', 'orders', '-r', 'planned drill', '--watch');
    const out = join(await mkdtemp(join(tmpdir(), 'mqdr-')), 'report.html');
    expect(await c.run('report', 'orders', '--out', out)).toBe(0);
    expect(c.out[0]).toMatch(/^wrote .*report\.html \(\d+ replication datapoints, 5 decisions\)$/);
    const html = await readFile(out, 'utf8');
    expect(html).toContain('<td>START_SWITCHOVER</td>');
    expect(html).toContain('"kind":"recovered"');
  });

  it('runs as the `mqdr` bin against the API', async () => {
    const { e } = await start({});
    const { stdout } = await promisify(execFile)('node', ['bin/mqdr.js', 'status', '--endpoint', e.apiEndpoint], {
      env: { ...process.env, AWS_ACCESS_KEY_ID: '', AWS_PROFILE: '' },
    });
    expect(stdout).toContain(`${e.primary.id} (us-east-1)`);
  });

  /** Runs the bin with only the given environment; resolves with its exit code and output. */
  const bin = (args: string[], env: Record<string, string>, stdio: 'pipe' | 'closed' = 'pipe') =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['bin/mqdr.js', ...args], {
        env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent', AWS_EC2_METADATA_DISABLED: 'true', ...env },
      });
      let stdout = '';
      let stderr = '';
      // A reader that has gone before the output comes, as `| head -1` has after its line.
      if (stdio === 'closed') child.stdout.destroy();
      else
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk;
        });
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk;
      });
      child.once('close', (code) => resolve({ code, stdout, stderr }));
    });

  it('an operator in an incident: no credentials, a wrong endpoint, a closed pipe each end in one line or quietly', async () => {
    // No credentials at all (a fresh shell, an expired session): one line naming the fix, exit 2.
    const noCreds = await bin(['status', '--endpoint', 'https://abc123.execute-api.us-west-2.amazonaws.com'], {});
    expect(noCreds.code).toBe(2);
    expect(noCreds.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^mqdr: no usable AWS credentials to sign the request \(.*\): set AWS_PROFILE, .*aws sso login$/),
    ]);
    // Nothing listening at the endpoint: the hint names --endpoint and MQDR_ENDPOINT.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    const refused = await bin(['status'], { MQDR_ENDPOINT: `http://127.0.0.1:${port}` });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^mqdr: cannot reach http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED.*pass --endpoint or set MQDR_ENDPOINT/,
    );
    expect(refused.stderr).not.toMatch(/\n\s+at /);
    // `mqdr timeline ... --json | head -1`: the reader goes away; the CLI ends quietly, no EPIPE trace.
    const { e, clock } = await start({ backlog: 3_000, drainRate: 100, produceRate: 0 });
    await cli(e, clock).run('switchover', 'orders', '-r', 'drill');
    const piped = await bin(['timeline', 'orders', '--json', '--endpoint', e.apiEndpoint], {}, 'closed');
    expect(piped.stderr).not.toMatch(/EPIPE|Error/);
    expect(piped.code).toBe(0);
  }, 60_000);
});
