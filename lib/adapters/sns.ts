/** Notifications to an SNS topic; without a topic they go to the log only. */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { LogSink } from '../orchestrator.ts';
import type { Notifier } from '../ports.ts';

/** SNS subjects: ASCII, no line breaks, at most 100 characters. */
export const snsSubject = (subject: string): string => subject.replace(/[^\x20-\x7e]/g, '?').slice(0, 100);

export class SnsNotifier implements Notifier {
  constructor(
    private readonly client: SNSClient,
    private readonly topicArn: string,
  ) {}

  async notify(subject: string, message: string): Promise<void> {
    await this.client.send(new PublishCommand({ TopicArn: this.topicArn, Subject: snsSubject(subject), Message: message }));
  }
}

export class LogNotifier implements Notifier {
  constructor(private readonly log: LogSink) {}

  async notify(subject: string, message: string): Promise<void> {
    this.log.info('notification (no topic configured)', { subject, message });
  }
}
