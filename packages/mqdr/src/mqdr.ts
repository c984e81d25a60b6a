/**
 * `mqdr`: the operator CLI over the HTTP API. Against a deployed API it signs with the default AWS
 * credential chain (environment, profile, SSO); against the local default (`npm run local`, a loopback
 * endpoint) it uses the local credentials when none are set.
 *
 * Exit codes: 0 done, 1 refused or failed (the API said no, the operation failed), 2 bad usage or input,
 * 3 a switchover you asked for was escalated to a FAILOVER (it completed, but may have left messages behind).
 */
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline/promises';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import { Command, CommanderError, Option } from 'commander';
import type { Decision, RequestKind } from '../../../lib/core/model.ts';
import { estimateDrain } from '../../../lib/core/predict.ts';
import { describeRpo } from '../../../lib/core/rpo.ts';
import type { PairView } from '../../../lib/operator.ts';
import { packageVersion } from '../../dedup/src/command-line.ts';
import { ApiClient, ApiError, type RequestResult } from './client.ts';
import { clientsOf, markersOf, renderReport } from './report.ts';

export const LOCAL_ENDPOINT = 'http://127.0.0.1:4020';

export interface Io {
  out(line: string): void;
  err(line: string): void;
  /** Asks a question on the terminal; undefined when there is no terminal to ask on. */
  ask?(question: string): Promise<string>;
  env: Record<string, string | undefined>;
  /** Waits between two polls of `watch`; tests drive a manual clock here. */
  sleep(ms: number): Promise<void>;
  now(): number;
  /** On a terminal: replaces the live line at the bottom (`watch`); absent elsewhere, where lines are printed. */
  live?(line: string): void;
  /**
   * Credentials for a loopback endpoint when the environment names none: the repository's launcher (bin/mqdr.js)
   * passes the embedded default's. The published CLI has none: it signs with the default credential chain.
   */
  localCredentials?: AwsCredentialIdentity;
}

export const processIo = (): Io => {
  // `mqdr timeline --json | head`: a reader that stops early is no error; end quietly.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    // Carriage return and erase-line: the status line is rewritten in place.
    ...(process.stdout.isTTY ? { live: (line: string) => process.stdout.write(`\r\x1b[2K${line}`) } : {}),
    err: (line) => process.stderr.write(`${line}\n`),
    ...(process.stdin.isTTY
      ? {
          ask: async (question: string) => {
            const rl = createInterface({ input: process.stdin, output: process.stderr });
            try {
              return await rl.question(question);
            } finally {
              rl.close();
            }
          },
        }
      : {}),
    env: process.env,
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    now: () => Date.now(),
  };
};

/** The AWS SDK's credential providers fail with these when there is nothing to sign with, or it expired. */
const CREDENTIAL_ERRORS = new Set(['CredentialsProviderError', 'TokenProviderError', 'ExpiredTokenException']);

class UsageError extends Error {}
class Refused extends Error {}
/** The request changed nothing (abandon, release or rearm with nothing to act on). */
class NothingToDo extends Error {}
/** The switchover the operator asked for completed as a FAILOVER: done, but not what was asked. */
class Escalated extends Error {}

const clock = (t: number): string => new Date(t).toISOString().slice(11, 19);
const duration = (ms: number): string => {
  const s = Math.max(0, Math.round(ms / 1000));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
};

export function formatDecision(d: Decision): string {
  return `  ${clock(d.at)}  ${d.action.padEnd(22)}${d.dryRun ? ' (dry run)' : ''} ${d.reason}`;
}

/** Rows under a header, each column as wide as its widest cell. */
function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

/** Eight-level sparkline of a series. */
const spark = (values: number[]): string => {
  const max = Math.max(1, ...values);
  return values.map((v) => '▁▂▃▄▅▆▇█'[Math.min(7, Math.floor((v / max) * 7.999))]).join('');
};

export function formatView(v: PairView): string[] {
  const broker = (label: string, b: PairView['local']) =>
    `  ${label.padEnd(8)}${b.brokerId}  ${b.region.padEnd(10)} ${b.role.padEnd(8)} ${b.brokerState}${b.promotionPending ? ' (role change pending)' : ''}${b.error ? `  ! ${b.error}` : ''}`;
  const lag = v.replication;
  const primaryIsLocal = v.local.role === 'PRIMARY';
  // The primary's QueueSize over the window: what is not replicated yet, minute by minute.
  const queue = lag.points.filter((p) => p.local === primaryIsLocal && p.events !== undefined).map((p) => p.events as number);
  const op = v.operation;
  return [
    `pair ${v.pairId}  (record version ${v.version}, ${new Date(v.now).toISOString()})`,
    broker('local', v.local),
    broker('remote', v.remote),
    `  repl    ${failoverNow(lag.failoverNow)}  ${spark(queue.slice(-30))}${lag.errors.length ? `  ! ${lag.errors.join('; ')}` : ''}`,
    op
      ? `  op      ${op.id} ${op.mode} ${op.status}, started ${clock(op.startedAt)} by ${op.trigger}${op.deadlineInMs !== undefined ? `, escalates to FAILOVER in ${duration(op.deadlineInMs)}` : ''}${op.recovery ? `; ${recoveryText(op.recovery)}` : ''}`
      : '  op      none',
    ...(op?.milestones ? [`  steps   ${milestonesText(op.milestones)}`] : []),
    `  hold    ${v.escalationHold ? `held by ${v.escalationHold.operator} since ${clock(v.escalationHold.at)}: ${v.escalationHold.reason}` : 'none: automatic escalation is armed'}`,
    ...(v.pairWide ? [`  pair    ${pairWideLine(v.pairWide, v.local.region)}`] : []),
    'timeline',
    ...(v.timeline.length ? v.timeline.map(formatDecision) : ['  (no decisions yet)']),
  ];
}

/** What a failover now would leave behind, in units, with the datapoint's time and age. */
function failoverNow(rpo: PairView['replication']['failoverNow']): string {
  if (rpo.unknown) return describeRpo(rpo).replace(/^RPO/, 'failover now: RPO');
  const lag = rpo.lagSeconds === null ? '' : `, lag ${rpo.lagSeconds.toFixed(1)} s`;
  return `${rpo.events ?? '?'} events not replicated${lag} at ${clock(rpo.measuredAt ?? 0)} (${Math.round((rpo.ageMs ?? 0) / 1000)} s old)`;
}

/**
 * The operation's recovery, step by step as the API returns it: the first evidence at its time, then each
 * milestone after it (`-` not reached, or not kept by an older record; the redirection's state when it is not done).
 */
export const milestonesText = (steps: NonNullable<PairView['operation']>['milestones']): string =>
  steps
    .map((m, i) =>
      m.at === undefined
        ? `${m.name} ${m.status ?? '-'}`
        : i === 0
          ? `${m.name} ${clock(m.at)}`
          : `${m.name} +${duration(m.afterEvidenceMs ?? 0)}`,
    )
    .join(' · ');

/** The recovery time as the API returns it (the core's one definition), never computed here again. */
const recoveryText = (r: { evidenceMs: number; recoveryMs: number }): string =>
  `recovered ${duration(r.evidenceMs)} after the first evidence, ${duration(r.recoveryMs)} after the operation started`;

/** The pair's newest promotion and whether it disarms automatic fail-back (under FAILBACK_POLICY=manual). */
function pairWideLine(p: NonNullable<PairView['pairWide']>, region: string): string {
  const last = p.newestPromotion;
  const view = p.viewError ? `  ! pair view not read: ${p.viewError}` : '';
  // The arming is the core's own answer, as the API returns it: never derived here again.
  const arming = p.arming.armed
    ? `automatic promotion from ${region}: armed`
    : `automatic promotion from ${region}: not armed (${p.arming.code}): ${p.arming.why}`;
  if (!last) return `no promotion recorded; ${arming}${view}`;
  const what = `newest promotion ${last.region} ${last.mode} ${last.operationId} by ${last.trigger}${last.breakGlass ? ' (break glass)' : ''}, ${clock(last.startedAt)}`;
  const rearmed = p.rearm && p.rearm.at >= last.startedAt ? `; re-armed by ${p.rearm.operator}` : '';
  return `${what}${rearmed}; ${arming}${view}`;
}

function credentialsFor(endpoint: string, io: Io) {
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(endpoint).hostname);
  if (loopback && io.localCredentials && !io.env.AWS_ACCESS_KEY_ID && !io.env.AWS_PROFILE) return io.localCredentials;
  return fromNodeProviderChain();
}

/**
 * One line of an operation's progress: the time, the status, the primary's queue of events not replicated,
 * how fast it drains and when it should be empty (a least-squares line through QueueSize since the operation
 * started, the core's own estimate), and the deadline countdown.
 */
export function statusLine(v: PairView, op: NonNullable<PairView['operation']>): string {
  const primaryIsLocal = v.local.role === 'PRIMARY';
  const ofPrimary = v.replication.points.filter((p) => p.local === primaryIsLocal);
  const drain = op.inFlight ? estimateDrain(ofPrimary, op.startedAt, 2) : undefined;
  const rate =
    drain === undefined
      ? ''
      : drain.drainRate > 0
        ? `  draining ${drain.drainRate.toFixed(0)} events/s${drain.zeroAt !== undefined ? `, empty at ${clock(drain.zeroAt)}` : ''}`
        : '  not draining';
  const now = v.replication.failoverNow;
  return `${clock(v.now)}  ${op.status}  queue ${now.events ?? '?'} events${rate}${op.deadlineInMs !== undefined ? `  failover in ${duration(op.deadlineInMs)}` : ''}${v.escalationHold ? '  (escalation held)' : ''}`;
}

/** The options switchover and failover share. */
interface PromoteOptions {
  reason: string;
  dryRun?: boolean;
  idempotencyKey?: string;
  watch?: boolean;
  interval: number;
  timeout: number;
  json?: boolean;
}

export async function main(argv: string[], io: Io): Promise<number> {
  const program = new Command('mqdr')
    .description('Operate Amazon MQ cross-Region replication failover: status, switchover, failover, hold, rearm, abandon, watch')
    .addOption(new Option('--endpoint <url>', 'the operator API').env('MQDR_ENDPOINT').default(LOCAL_ENDPOINT))
    .addOption(new Option('--region <region>', 'Region of the API, for signing').env('AWS_REGION').default('us-west-2'))
    .version(packageVersion(), '--version', 'print the version')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });
  // commander reads option defaults from process.env; tests pass their own environment.
  const client = () => {
    const { endpoint, region } = program.opts<{ endpoint: string; region: string }>();
    const url = io.env.MQDR_ENDPOINT && endpoint === LOCAL_ENDPOINT ? io.env.MQDR_ENDPOINT : endpoint;
    try {
      new URL(url);
    } catch {
      throw new UsageError(`--endpoint ${JSON.stringify(url)} is not a URL`);
    }
    return new ApiClient({ endpoint: url, region, credentials: credentialsFor(url, io) });
  };

  const printResult = (r: RequestResult, json: boolean) => {
    if (json) return io.out(JSON.stringify(r));
    const verb = r.replayed ? 'already handled (same idempotency key)' : 'recorded';
    io.out(`${r.request.kind} ${verb}: ${r.request.action}${r.request.operationId ? ` ${r.request.operationId}` : ''}`);
    for (const d of r.decisions) io.out(formatDecision(d));
    if (r.breakGlass) {
      io.err(
        `BREAK GLASS: the orchestrator's table could not be written (${r.breakGlass.storeError}); the failover was sent anyway and is kept in the ${r.breakGlass.keptIn} until the table records it. Watch the broker in the console: status reads the table.`,
      );
    }
  };

  const request = async (
    kind: RequestKind,
    pairId: string,
    body: Record<string, unknown>,
    key: string | undefined,
    json = false,
  ) => {
    const result = await client().request(kind, pairId, body, key ?? randomUUID());
    printResult(result, json);
    if (result.request.action === 'REFUSE') throw new Refused('refused; see the reason above');
    if (result.request.action === 'IGNORE' && !result.replayed) throw new NothingToDo('nothing to do; see the reason above');
    return result;
  };

  /**
   * `afterRequest`: the request's own decisions were printed already; show only what follows them. The view
   * carries the newest decisions only, so what was shown is remembered by decision, not counted.
   */
  const watch = async (
    pairId: string,
    intervalMs: number,
    timeoutMs: number,
    afterRequest = false,
    json = false,
  ): Promise<void> => {
    const api = client();
    const until = io.now() + timeoutMs;
    const shown = new Set<string>();
    const id = (d: Decision) => `${d.at} ${d.action} ${d.reason}`;
    let first = true;
    let last = '';
    for (;;) {
      const v = await api.pair(pairId, 30);
      const op = v.operation;
      const since = v.timeline.filter((d) => !op || d.at >= op.startedAt);
      const fresh = since.filter((d) => !shown.has(id(d)));
      for (const d of fresh) shown.add(id(d));
      if (!(first && afterRequest)) for (const d of fresh) io.out(json ? JSON.stringify(d) : formatDecision(d));
      first = false;
      if (!op) {
        io.out(json ? JSON.stringify({ pairId, operation: null }) : `${pairId}: no operation to watch`);
        return;
      }
      const line = statusLine(v, op);
      if (io.live && !json) {
        // A terminal gets one live line, rewritten each poll; decisions print above it.
        io.live(line);
        if (!op.inFlight) io.live(`${line}\n`);
      } else if (line.slice(10) !== last && !json) {
        io.out(line);
      }
      last = line.slice(10);
      if (!op.inFlight) {
        if (json) io.out(JSON.stringify({ pairId, operation: op }));
        if (op.status === 'FAILED') throw new Refused(`${op.mode} ${op.id} FAILED`);
        if (!json) io.out(`${op.mode} ${op.id} ${op.status}${op.recovery ? `: ${recoveryText(op.recovery)}` : ''}`);
        if (afterRequest && op.escalatedAt !== undefined) {
          throw new Escalated(
            `the switchover was escalated to a FAILOVER${op.rpo ? ` (${describeRpo(op.rpo)})` : ''}: reconcile the old primary when it is back`,
          );
        }
        return;
      }
      if (io.now() >= until) throw new Refused(`still ${op.status} after ${duration(timeoutMs)}; watch again or act`);
      await io.sleep(intervalMs);
    }
  };

  const positive = (name: string) => (value: string) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${name} must be a positive number, got ${value}`);
    return n;
  };
  const reasonOption = () =>
    new Option('-r, --reason <text>', 'why: goes into the timeline and the notification').makeOptionMandatory();
  const keyOption = () => new Option('--idempotency-key <key>', 'reuse to retry a request safely (default: a new UUID)');
  const watchOptions = (c: Command) =>
    c
      .option('-w, --watch', 'follow the operation until it completes')
      .option('--interval <seconds>', 'seconds between polls', positive('--interval'), 5)
      .option('--timeout <seconds>', 'give up watching after this long', positive('--timeout'), 3600);

  program
    .command('status')
    .description('the pairs, or one pair: roles, lag, operation, deadline, timeline')
    .argument('[pairId]')
    .option('--lag-minutes <n>', 'lag series window', positive('--lag-minutes'), 30)
    .option('--json', 'print the raw JSON')
    .action(async (pairId: string | undefined, o: { lagMinutes: number; json?: boolean }) => {
      const api = client();
      if (!pairId) {
        const { pairs } = await api.pairs();
        if (o.json) return io.out(JSON.stringify(pairs, null, 2));
        const rows = pairs.map((p) => [
          p.pairId,
          p.primary ? `${p.primary.brokerId} (${p.primary.region})` : 'unknown',
          p.operation ? `${p.operation.id} ${p.operation.status}` : 'none',
          `${p.notReplicated.events ?? '?'} events${p.notReplicated.lagSeconds === null ? '' : `, ${p.notReplicated.lagSeconds.toFixed(0)} s`}`,
          p.escalationHeld ? 'held' : 'armed',
        ]);
        for (const line of table(['PAIR', 'PRIMARY', 'OPERATION', 'NOT REPLICATED', 'ESCALATION'], rows)) io.out(line);
        return;
      }
      const view = await api.pair(pairId, o.lagMinutes);
      if (o.json) return io.out(JSON.stringify(view, null, 2));
      for (const line of formatView(view)) io.out(line);
    });

  watchOptions(
    program
      .command('switchover')
      .description('start a consistent switchover (waits for zero lag; escalates to failover at the deadline)')
      .argument('<pairId>')
      .addOption(reasonOption())
      .option('--dry-run', 'decide and record, promote nothing')
      .option('--no-escalate', 'never escalate this switchover to a failover by itself (you fail over by hand if need be)')
      .option('--json', 'print JSON')
      .addOption(keyOption()),
  ).action(async (pairId: string, o: PromoteOptions & { escalate: boolean }) => {
    const body = { reason: o.reason, dryRun: o.dryRun === true, ...(o.escalate ? {} : { escalate: false }) };
    await request('SWITCHOVER', pairId, body, o.idempotencyKey, o.json);
    if (o.watch && !o.dryRun) await watch(pairId, o.interval * 1000, o.timeout * 1000, true, o.json);
  });

  watchOptions(
    program
      .command('failover')
      .description('promote the replica now; may leave unreplicated messages on the old primary')
      .argument('<pairId>')
      .addOption(reasonOption())
      .option('-y, --yes', 'do not ask for confirmation')
      .option('--dry-run', 'decide and record, promote nothing')
      .option('--json', 'print JSON')
      .addOption(keyOption()),
  ).action(async (pairId: string, o: PromoteOptions & { yes?: boolean }) => {
    if (!o.yes) {
      if (!io.ask) throw new UsageError('failover needs confirmation: run it on a terminal, or pass --yes');
      io.err(`A failover promotes the replica of ${pairId} immediately; messages not yet replicated stay on the old primary.`);
      // What is at stake, as the orchestrator sees it now: the lag is the RPO estimate of failing over now.
      const view = await client()
        .pair(pairId, 30)
        .catch(() => undefined);
      io.err(
        view
          ? `If you fail over now: ${describeRpo(view.replication.failoverNow)}.`
          : 'The pair could not be read: the RPO of a failover now is unknown.',
      );
      const answer = (await io.ask(`Type the pair id (${pairId}) to fail over: `)).trim();
      if (answer !== pairId) throw new Refused('not confirmed; nothing was requested');
    }
    const r = await request(
      'FAILOVER',
      pairId,
      { reason: o.reason, confirm: pairId, dryRun: o.dryRun === true },
      o.idempotencyKey,
      o.json,
    );
    if (o.watch && !o.dryRun && !r.breakGlass) await watch(pairId, o.interval * 1000, o.timeout * 1000, true, o.json);
  });

  for (const [name, kind, description] of [
    ['hold', 'HOLD', 'stop deadlines from escalating to a failover (you are on it)'],
    ['release', 'RELEASE', 're-arm automatic escalation (escalates now if the deadline passed)'],
    ['rearm', 'REARM', 're-arm automatic promotion after an automatic one disarmed it (FAILBACK_POLICY=manual)'],
    ['abandon', 'ABANDON', 'end the operation in flight (a promotion Amazon MQ has under way goes on)'],
  ] as const) {
    program
      .command(name)
      .description(description)
      .argument('<pairId>')
      .addOption(reasonOption())
      .addOption(keyOption())
      .option('--json', 'print JSON')
      .action(async (pairId: string, o: { reason: string; idempotencyKey?: string; json?: boolean }) => {
        await request(kind, pairId, { reason: o.reason }, o.idempotencyKey, o.json);
      });
  }

  watchOptions(
    program
      .command('watch')
      .description('follow the current operation live until it completes')
      .argument('<pairId>')
      .option('--json', 'one JSON line per new decision, then the operation'),
  ).action(async (pairId: string, o: { interval: number; timeout: number; json?: boolean }) =>
    watch(pairId, o.interval * 1000, o.timeout * 1000, false, o.json),
  );

  program
    .command('doctor')
    .description('would a failover work now? each check PASS, WARN or FAIL with its fix; exits 1 when one fails')
    .argument('<pairId>')
    .option('--json', 'print the raw JSON')
    .action(async (pairId: string, o: { json?: boolean }) => {
      const readiness = await client().readiness(pairId);
      if (o.json) io.out(JSON.stringify(readiness, null, 2));
      else {
        io.out(`${readiness.pairId} from ${readiness.region}: ${readiness.ready ? 'ready' : 'NOT READY'}`);
        const rows = readiness.checks.map((c) => [c.id, c.status, c.fix ? `${c.detail}; fix: ${c.fix}` : c.detail]);
        for (const line of table(['CHECK', 'STATUS', 'DETAIL'], rows)) io.out(line);
      }
      const failed = readiness.checks.filter((c) => c.status === 'FAIL').map((c) => c.id);
      if (failed.length > 0) throw new Refused(`not ready for a failover: ${failed.join(', ')} failed`);
    });

  program
    .command('timeline')
    .description('the whole audit timeline, oldest first, read a page at a time')
    .argument('<pairId>')
    .option('--limit <n>', 'decisions per request', positive('--limit'), 500)
    .option('--json', 'one JSON decision per line')
    .action(async (pairId: string, o: { limit: number; json?: boolean }) => {
      const api = client();
      let count = 0;
      for await (const page of api.timeline(pairId, Math.min(1_000, Math.floor(o.limit)))) {
        for (const d of page) io.out(o.json ? JSON.stringify(d) : formatDecision(d));
        count += page.length;
      }
      if (!o.json && count === 0) io.out('  (no decisions yet)');
    });

  program
    .command('report')
    .description('write a self-contained HTML report: lag chart with the decisions marked, and the timeline')
    .argument('<pairId>')
    .requiredOption('-o, --out <file>', 'where to write the HTML')
    .option('--lag-minutes <n>', 'lag series window', positive('--lag-minutes'), 120)
    .option('--json', 'print what was written as JSON')
    .action(async (pairId: string, o: { out: string; lagMinutes: number; json?: boolean }) => {
      const api = client();
      const view = await api.pair(pairId, o.lagMinutes);
      const since = view.now - o.lagMinutes * 60_000;
      const timeline: Decision[] = [];
      for await (const page of api.timeline(pairId)) timeline.push(...page.filter((d) => d.at >= since));
      const op = view.operation;
      const deadlineMs = op?.deadlineAt !== undefined ? op.deadlineAt - op.startedAt : undefined;
      await writeFile(
        o.out,
        renderReport({
          title: `Replication failover report: ${pairId}`,
          pairId,
          generatedAt: view.now,
          // One line per broker when the API gives them (else the pair's merged series), and who took clients.
          series:
            (view.replication.byBroker?.length ?? 0) > 0
              ? view.replication.byBroker.map((b) => ({ name: `${b.brokerName} (${b.region})`, points: b.points }))
              : [{ name: 'not replicated', points: view.replication.points }],
          clients: clientsOf(
            timeline,
            since,
            view.now,
            `${view.remote.brokerName ?? view.remote.brokerId} (${view.remote.region})`,
            `${view.local.brokerName ?? view.local.brokerId} (${view.local.region})`,
          ),
          markers: markersOf(timeline, deadlineMs),
          timeline,
          summary: [
            ['primary', [view.local, view.remote].find((b) => b.role === 'PRIMARY')?.brokerId ?? 'unknown'],
            ['operation', op ? `${op.id} ${op.mode} ${op.status}` : 'none'],
            ['failover now', describeRpo(view.replication.failoverNow)],
            ...(view.replication.errors.length ? [['metric gaps', view.replication.errors.join('; ')] as [string, string]] : []),
          ],
        }),
      );
      const written = { out: o.out, datapoints: view.replication.points.length, decisions: timeline.length };
      io.out(
        o.json
          ? JSON.stringify(written)
          : `wrote ${o.out} (${written.datapoints} replication datapoints, ${written.decisions} decisions)`,
      );
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    if (error instanceof UsageError) {
      io.err(`mqdr: ${error.message}`);
      return 2;
    }
    if (error instanceof Refused) {
      io.err(`mqdr: ${error.message}`);
      return 1;
    }
    if (error instanceof Escalated) {
      io.err(`mqdr: ${error.message}`);
      return 3;
    }
    if (error instanceof NothingToDo) {
      io.err(`mqdr: ${error.message}`);
      return 4;
    }
    if (error instanceof ApiError) {
      const hint =
        error.status === 0
          ? ` (is the operator API there? pass --endpoint or set MQDR_ENDPOINT to the stack's HttpApiUrl output)`
          : error.status === 403 && /expired|security token/i.test(error.message)
            ? ' (refresh your AWS credentials: aws sso login, or new keys)'
            : '';
      io.err(`mqdr: ${error.status ? `HTTP ${error.status} ` : ''}${error.message}${hint}`);
      return error.status >= 400 && error.status < 500 && error.status !== 409 ? 2 : 1;
    }
    if (CREDENTIAL_ERRORS.has((error as { name?: string }).name ?? '')) {
      // The most likely first error in an incident: one line that names the fix, not a stack trace.
      io.err(
        `mqdr: no usable AWS credentials to sign the request (${(error as Error).message.split('\n')[0]}): set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run aws sso login`,
      );
      return 2;
    }
    throw error;
  }
}
