/** Amazon MQ adapter: DescribeBroker and Promote through the real SDK client, errors mapped to BrokerApiError. */
import { DescribeBrokerCommand, type DescribeBrokerResponse, type MqClient, PromoteCommand } from '@aws-sdk/client-mq';
import { type BrokerObservation, type Mode, Role } from '../core/model.ts';
import { BrokerApiError } from '../errors.ts';
import { normalizeRole } from '../mq-facts.ts';
import type { BrokerApi } from '../ports.ts';
import { callErrorMessage, type SdkErrorShape } from './http.ts';

/** The names of Amazon MQ's throttling answers (429); an observation's error names them too. */
export const THROTTLING_ERRORS = ['ThrottlingException', 'TooManyRequestsException'] as const;

/** 5xx, throttling and network errors (no HTTP status at all) may succeed when sent again. */
export const isRetryable = (error: unknown): boolean => {
  const e = (error ?? {}) as SdkErrorShape;
  const status = e.$metadata?.httpStatusCode;
  if (e.$retryable || (THROTTLING_ERRORS as readonly (string | undefined)[]).includes(e.name)) return true;
  return status === undefined || status === 429 || status >= 500;
};

export const toBrokerApiError = (brokerId: string, action: string, error: unknown): BrokerApiError => {
  const e = (error ?? {}) as SdkErrorShape;
  const retryable = isRetryable(error);
  const hint = retryable
    ? 'transient; it is retried'
    : e.name === 'NotFoundException'
      ? 'check the broker id and the Region the client is configured for'
      : e.name === 'ForbiddenException'
        ? 'check the IAM policy of this function'
        : 'the request is refused as it stands';
  return new BrokerApiError(
    `${action} ${brokerId}: ${e.name ?? 'Error'}: ${callErrorMessage(error)} (${hint})`,
    brokerId,
    retryable,
    {
      cause: error,
    },
  );
};

/** Reduces DescribeBroker to what the core decides on. */
export const toObservation = (out: DescribeBrokerResponse): BrokerObservation => {
  const brokerState = out.BrokerState ?? 'UNKNOWN';
  if (out.DataReplicationMode !== 'CRDR') {
    return {
      role: Role.UNKNOWN,
      brokerState,
      promotionPending: false,
      error: `broker ${out.BrokerId} has dataReplicationMode ${out.DataReplicationMode ?? 'unset'}, not CRDR`,
    };
  }
  const role = normalizeRole(out.DataReplicationMetadata?.DataReplicationRole);
  const pendingRole = normalizeRole(out.PendingDataReplicationMetadata?.DataReplicationRole);
  const counterpart = out.DataReplicationMetadata?.DataReplicationCounterpart;
  return {
    role: role ?? Role.UNKNOWN,
    brokerState,
    ...(out.BrokerName ? { brokerName: out.BrokerName } : {}),
    ...(counterpart?.BrokerId && counterpart.Region
      ? { counterpart: { brokerId: counterpart.BrokerId, region: counterpart.Region } }
      : {}),
    promotionPending: pendingRole !== undefined && pendingRole !== role,
    ...(role ? {} : { error: `unrecognised dataReplicationRole ${out.DataReplicationMetadata?.DataReplicationRole}` }),
  };
};

export class MqBrokerApi implements BrokerApi {
  constructor(private readonly client: MqClient) {}

  /** `abortSignal` bounds the call tighter than the client's timeouts (the probe's own timeout). */
  async describe(brokerId: string, abortSignal?: AbortSignal): Promise<DescribeBrokerResponse> {
    try {
      return await this.client.send(new DescribeBrokerCommand({ BrokerId: brokerId }), abortSignal ? { abortSignal } : {});
    } catch (error) {
      throw toBrokerApiError(brokerId, 'DescribeBroker', error);
    }
  }

  async observe(brokerId: string): Promise<BrokerObservation> {
    try {
      return toObservation(await this.describe(brokerId));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return { role: Role.UNKNOWN, brokerState: 'UNREACHABLE', promotionPending: false, error: message };
    }
  }

  async promote(brokerId: string, mode: Mode): Promise<void> {
    try {
      await this.client.send(new PromoteCommand({ BrokerId: brokerId, Mode: mode }));
    } catch (error) {
      throw toBrokerApiError(brokerId, `Promote ${mode}`, error);
    }
  }
}
