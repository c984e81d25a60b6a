/**
 * The time budget of one invocation, well under its Lambda timeout: every AWS call made inside it is aborted
 * when the budget runs out, so an invocation answers (and records what it decided) instead of dying in a Lambda
 * timeout with nothing written.
 *
 * The budget travels with the invocation in an AsyncLocalStorage rather than through every port's signature:
 * the SDK clients' HTTP handler (lib/adapters/http.ts) reads it for each request, whichever adapter sent it.
 * It is measured in real time (performance.now), as Lambda measures its timeout, whatever clock the core runs on.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';

export class Budget {
  private readonly endsAt: number;
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;

  constructor(readonly ms: number) {
    this.endsAt = performance.now() + ms;
    this.timer = setTimeout(() => this.controller.abort(new BudgetExhaustedError(ms)), ms);
    this.timer.unref();
  }

  /** Aborted when the budget runs out. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  remaining(): number {
    return Math.max(0, this.endsAt - performance.now());
  }

  dispose(): void {
    clearTimeout(this.timer);
  }
}

export class BudgetExhaustedError extends Error {
  override name = 'TimeoutError';
  constructor(ms: number) {
    super(`invocation budget of ${ms} ms used up`);
  }
}

const current = new AsyncLocalStorage<Budget>();

/** Runs `fn` inside a budget of `ms`; the budget is what `currentBudget()` returns within it. */
export async function withBudget<T>(ms: number, fn: (budget: Budget) => Promise<T>): Promise<T> {
  const budget = new Budget(ms);
  try {
    return await current.run(budget, () => fn(budget));
  } finally {
    budget.dispose();
  }
}

export const currentBudget = (): Budget | undefined => current.getStore();

/**
 * The budget of an invocation: the configured one, or less when Lambda says fewer milliseconds remain (minus a
 * reserve for the runtime to return the answer and flush logs and metrics).
 */
export const invocationBudgetMs = (configuredMs: number, remainingInLambdaMs?: number): number =>
  remainingInLambdaMs === undefined ? configuredMs : Math.max(1_000, Math.min(configuredMs, remainingInLambdaMs - 5_000));
