/**
 * Where the pair stands for one step of an ARC Region switch plan that activates this Region: the step is
 * done when the local broker is the running primary and no operation is in flight. Pure, like the rest of the
 * core; functions/arcStep.ts acts on it.
 */
import { isInFlight, isPromoted } from './decide.ts';
import { type BrokerObservation, type Operation, type PairState, Role } from './model.ts';

export type RegionSwitchStatus =
  /** The local broker is the running primary: the Region is active for this pair. */
  | { kind: 'done'; operation?: Operation }
  /** An operation is moving the primary here; ARC runs the step again later. */
  | { kind: 'in-progress'; operation: Operation }
  /** The local broker is a replica and nothing is moving it: an operation must start. */
  | { kind: 'start' }
  /** The local broker cannot be observed or is between states; ARC runs the step again later. */
  | { kind: 'waiting'; reason: string };

export function regionSwitchStatus(state: PairState, observation: BrokerObservation): RegionSwitchStatus {
  const op = state.operation;
  if (op && isInFlight(op)) return { kind: 'in-progress', operation: op };
  if (isPromoted(observation)) return op?.status === 'COMPLETED' ? { kind: 'done', operation: op } : { kind: 'done' };
  if (observation.role === Role.REPLICA && !observation.promotionPending) return { kind: 'start' };
  const why = observation.error ? `: ${observation.error}` : '';
  return {
    kind: 'waiting',
    reason: `local broker is ${observation.role} (${observation.brokerState}${observation.promotionPending ? ', promotion pending' : ''})${why}`,
  };
}
