/**
 * SNS Publish as `@aws-sdk/client-sns` speaks it (awsQuery: form-encoded POST /, XML answer). Topics exist
 * only when the world created them, so a wrong TOPIC_ARN fails as it would on AWS.
 */
import { randomUUID } from 'node:crypto';
import type { CrdrWorld } from './world.ts';

const XMLNS = 'http://sns.amazonaws.com/doc/2010-03-31/';

export interface XmlAnswer {
  status: number;
  xml: string;
}

const escapeXml = (s: string): string =>
  s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] as string);

export const snsError = (status: number, code: string, message: string): XmlAnswer => ({
  status,
  xml: `<ErrorResponse xmlns="${XMLNS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
});

/** `MessageAttributes.entry.N.Name` / `.Value.StringValue` pairs of an awsQuery body. */
function attributesOf(form: URLSearchParams): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (let n = 1; form.has(`MessageAttributes.entry.${n}.Name`); n++) {
    const name = form.get(`MessageAttributes.entry.${n}.Name`) as string;
    attributes[name] = form.get(`MessageAttributes.entry.${n}.Value.StringValue`) ?? '';
  }
  return attributes;
}

export function sns(world: CrdrWorld, region: string, form: URLSearchParams): XmlAnswer {
  const action = form.get('Action');
  if (action !== 'Publish') return snsError(400, 'InvalidAction', `the simulator implements Publish only, not ${action}`);
  if (!world.isRegionUp(region))
    return snsError(500, 'InternalError', `SNS in ${region} is unavailable (simulated Region outage)`);
  const topicArn = form.get('TopicArn') ?? '';
  const message = form.get('Message');
  if (!message) return snsError(400, 'InvalidParameter', 'Invalid parameter: Message is required');
  if (!topicArn.startsWith(`arn:aws:sns:${region}:`) || !world.topics.has(topicArn)) {
    return snsError(404, 'NotFound', 'Topic does not exist');
  }
  const subject = form.get('Subject') ?? undefined;
  if (subject !== undefined && (subject.length > 100 || /[^\x20-\x7e]/.test(subject))) {
    return snsError(400, 'InvalidParameter', 'Invalid parameter: Subject');
  }
  world.published.push({
    topicArn,
    message,
    attributes: attributesOf(form),
    at: world.clock.now(),
    ...(subject !== undefined ? { subject } : {}),
  });
  const messageId = randomUUID();
  return {
    status: 200,
    xml: `<PublishResponse xmlns="${XMLNS}"><PublishResult><MessageId>${messageId}</MessageId></PublishResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></PublishResponse>`,
  };
}
