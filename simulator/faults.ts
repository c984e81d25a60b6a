/**
 * Injected faults waiting for the calls they hit: per operation, first in first out. The Amazon MQ simulator
 * and the DynamoDB fault proxy of the tests share it.
 */
export class FaultQueue<Operation extends string, Fault extends string> {
  private readonly queues = new Map<Operation, Fault[]>();

  /** The next `count` calls of `operation` meet `fault`. */
  inject(operation: Operation, fault: Fault, count = 1): void {
    this.queues.set(operation, [...(this.queues.get(operation) ?? []), ...Array<Fault>(count).fill(fault)]);
  }

  /** The fault the call of `operation` being made now meets, if one is armed. */
  take(operation: Operation): Fault | undefined {
    return this.queues.get(operation)?.shift();
  }

  /** How many faults are still armed. */
  get armed(): number {
    let n = 0;
    for (const queue of this.queues.values()) n += queue.length;
    return n;
  }

  clear(): void {
    this.queues.clear();
  }
}
