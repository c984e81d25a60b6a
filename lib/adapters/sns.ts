/** Notifications to an SNS topic; without a topic they go to the log only. */
import type { SNSClient } from '@aws-sdk/client-sns';
import type { Notification } from '../core/model.ts';
import type { LogSink } from '../orchestrator.ts';
import type { Notifier } from '../ports.ts';

/** SNS subjects: ASCII, no line breaks, at most 100 characters. */
export const snsSubject = (subject: string): string => subject.replace(/[^\x20-\x7e]/g, '?').slice(0, 100);

/** The e-mail/SMS-friendly body: what happened first, then the facts an operator acts on. */
export function summarize(n: Notification): string {
  return [
    n.message,
    '',
    `Pair:       ${n.pairId}`,
    `Decision:   ${n.action}`,
    `Status:     ${n.status}`,
    ...(n.operationId ? [`Operation:  ${n.operationId}`] : []),
    `Time:       ${new Date(n.at).toISOString()}`,
    '',
    `Timeline:   mqdr status ${n.pairId}`,
  ].join('\n');
}

export class SnsNotifier implements Notifier {
  constructor(
    /** Made (and its package loaded) on first use: see lazyClient in lib/runtime.ts. */
    private readonly client: () => Promise<SNSClient>,
    private readonly topicArn: string,
  ) {}

  async notify(n: Notification): Promise<void> {
    const { PublishCommand } = await import('@aws-sdk/client-sns');
    await (await this.client()).send(
      new PublishCommand({
        TopicArn: this.topicArn,
        Subject: snsSubject(n.subject),
        Message: summarize(n),
        // Subscribers can filter, e.g. page only on ESCALATE_TO_FAILOVER and FAIL.
        MessageAttributes: {
          pairId: { DataType: 'String', StringValue: n.pairId },
          action: { DataType: 'String', StringValue: n.action },
          status: { DataType: 'String', StringValue: n.status },
        },
      }),
    );
  }
}

export class LogNotifier implements Notifier {
  constructor(private readonly log: LogSink) {}

  async notify(n: Notification): Promise<void> {
    this.log.info('notification (no topic configured)', { subject: n.subject, text: n.message, action: n.action });
  }
}
