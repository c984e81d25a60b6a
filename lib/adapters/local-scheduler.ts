/**
 * The deadline scheduler of the embedded default: keeps the schedules in memory and, when the clock passes
 * one, invokes the real escalate handler with the same payload EventBridge Scheduler would send.
 */
import type { Clock, DeadlineScheduler } from '../ports.ts';
import { type DeadlinePayload, scheduleName } from './scheduler.ts';

export class LocalDeadlineScheduler implements DeadlineScheduler {
  private readonly schedules = new Map<string, { at: number; payload: DeadlinePayload }>();

  constructor(
    private readonly clock: Clock,
    private readonly fire: (payload: DeadlinePayload) => Promise<unknown>,
  ) {}

  async schedule(pairId: string, operationId: string, at: number): Promise<void> {
    this.schedules.set(scheduleName(pairId, operationId), { at, payload: { kind: 'deadline', pairId, operationId } });
  }

  async cancel(pairId: string, operationId: string): Promise<void> {
    this.schedules.delete(scheduleName(pairId, operationId));
  }

  get pending(): number {
    return this.schedules.size;
  }

  /** When the earliest schedule is due, if there is one. */
  get nextAt(): number | undefined {
    let next: number | undefined;
    for (const { at } of this.schedules.values()) next = next === undefined ? at : Math.min(next, at);
    return next;
  }

  /** Fires (and, like ActionAfterCompletion DELETE, removes) every schedule that is due. */
  async runDue(): Promise<number> {
    const now = this.clock.now();
    const due = [...this.schedules].filter(([, s]) => s.at <= now);
    for (const [name, { payload }] of due) {
      this.schedules.delete(name);
      await this.fire(payload);
    }
    return due.length;
  }
}
