import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { repoRoot } from '#infra/constructs/endpoint-api';
import { alarmsOf, resourcesOf, synth, type Synthesised, type TemplateResource } from '#test/infra/synth';

/** GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces to hyphens. */
function githubSlug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

const runbook = readFileSync(path.join(repoRoot, 'docs/runbook.md'), 'utf8');
const runbookAnchors = new Set(
  runbook
    .split('\n')
    .filter((line) => /^#{1,6}\s/.test(line))
    .map((line) => githubSlug(line.replace(/^#+\s*/, ''))),
);

interface AlarmProperties {
  AlarmName: string;
  AlarmDescription?: string;
  AlarmActions?: unknown[];
  OKActions?: unknown[];
  EvaluationPeriods: number;
  DatapointsToAlarm?: number;
  TreatMissingData?: string;
}

const props = (alarm: TemplateResource): AlarmProperties => alarm.Properties as unknown as AlarmProperties;

describe.each(['dev', 'prod'] as const)('alarms of the %s stage', (stage) => {
  let built: Synthesised;
  let alarms: TemplateResource[];

  beforeAll(() => {
    built = synth({ stage });
    alarms = alarmsOf(built.template);
  });

  it('has one alarm per function error, per class throttles and concurrency, and the service alarms', () => {
    const names = alarms.map((alarm) => props(alarm).AlarmName);
    const expected = [
      'Api5xxRate', 'Api429Share', 'ResolveLatencyP99', 'StaleResolveAnswers', 'TableThrottles', 'PublisherErrors',
      'PublisherIteratorAge', 'PublisherDeadLetters', 'RouteChangesDeadLetters', 'PublisherDeadLetterAge',
      'RouteChangesDeadLetterAge', 'resolve-LambdaThrottles', 'write-LambdaThrottles', 'publisher-LambdaThrottles',
      'resolve-ConcurrencyNearReservation', 'publisher-ConcurrencyNearReservation', 'resolveRoute-Errors', 'putRoute-Errors',
    ].map((what) => `TrafficManager-${stage}-${what}`);
    expect(names).toEqual(expect.arrayContaining(expected));
    // 18 endpoints' errors (the publisher's are PublisherErrors, one of the 11), 5 classes x 2, 11 more.
    expect(alarms).toHaveLength(18 + 10 + 11);
  });

  it('names every alarm TrafficManager-<stage>-<what>, each name once', () => {
    const names = alarms.map((alarm) => props(alarm).AlarmName);
    for (const name of names) expect(name).toMatch(new RegExp(`^TrafficManager-${stage}-[A-Za-z0-9-]+$`));
    expect(new Set(names).size).toBe(names.length);
  });

  it('wires every alarm to the stage alarm topic for ALARM and for OK', () => {
    const [topic] = resourcesOf(built.template, 'AWS::SNS::Topic');
    expect(topic).toBeDefined();
    for (const alarm of alarms) {
      const { AlarmName, AlarmActions, OKActions } = props(alarm);
      expect({ AlarmName, AlarmActions, OKActions }).toEqual({
        AlarmName,
        AlarmActions: expect.arrayContaining([{ Ref: topic?.id }]),
        OKActions: expect.arrayContaining([{ Ref: topic?.id }]),
      });
    }
  });

  it('links every alarm to a section of docs/runbook.md that exists', () => {
    for (const alarm of alarms) {
      const { AlarmName, AlarmDescription } = props(alarm);
      const anchor = /Runbook: docs\/runbook\.md#([\w-]+)$/.exec(AlarmDescription ?? '')?.[1];
      expect({ AlarmName, anchor, exists: anchor !== undefined && runbookAnchors.has(anchor) }).toEqual({
        AlarmName,
        anchor: expect.any(String),
        exists: true,
      });
    }
  });

  it('fires on M of N datapoints with an explicit rule for missing data', () => {
    for (const alarm of alarms) {
      const { AlarmName, EvaluationPeriods, DatapointsToAlarm, TreatMissingData } = props(alarm);
      expect({ AlarmName, m: DatapointsToAlarm !== undefined && DatapointsToAlarm >= 2, n: EvaluationPeriods >= (DatapointsToAlarm ?? 0), TreatMissingData }).toEqual({
        AlarmName,
        m: true,
        n: true,
        TreatMissingData: expect.stringMatching(/^(notBreaching|breaching|ignore|missing)$/),
      });
    }
  });
});

describe('the alarm topic', () => {
  it('is encrypted with a rotating key that CloudWatch may use, and refuses plain HTTP', () => {
    const { template } = synth({ stage: 'prod' });
    const [topic] = resourcesOf(template, 'AWS::SNS::Topic');
    const keyId = (topic?.Properties.KmsMasterKeyId as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const key = resourcesOf(template, 'AWS::KMS::Key').find((k) => k.id === keyId);
    expect(key?.Properties.EnableKeyRotation).toBe(true);
    expect(JSON.stringify(key?.Properties.KeyPolicy)).toContain('cloudwatch.amazonaws.com');
    expect(topic?.Properties.TopicName).toBe('TrafficManager-prod-alarms');
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: [Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })],
      },
    });
  });

  it('subscribes the e-mail addresses from context, and adds existing topics as alarm actions', () => {
    const existing = 'arn:aws:sns:eu-west-1:123456789012:pager';
    const { template } = synth({ context: { alarmEmail: 'ops@acme.example, oncall@acme.example', alarmTopicArn: existing } });
    const subscriptions = resourcesOf(template, 'AWS::SNS::Subscription').map((s) => [s.Properties.Protocol, s.Properties.Endpoint]);
    expect(subscriptions).toEqual([
      ['email', 'ops@acme.example'],
      ['email', 'oncall@acme.example'],
    ]);
    for (const alarm of alarmsOf(template)) {
      expect(props(alarm).AlarmActions).toContain(existing);
      expect(props(alarm).OKActions).toContain(existing);
    }
  });

  it('refuses a malformed address or topic ARN with a one-line message', () => {
    expect(() => synth({ context: { alarmEmail: 'not-an-address' } })).toThrow('Invalid address "not-an-address" in -c alarmEmail');
    expect(() => synth({ context: { alarmTopicArn: 'pager' } })).toThrow('Invalid topic ARN "pager" in -c alarmTopicArn');
  });

  it('links the runbook on GitHub when the repository is known', () => {
    const { template } = synth({ context: { githubRepository: 'acme/traffic-manager' } });
    const [alarm] = alarmsOf(template);
    expect(props(alarm as TemplateResource).AlarmDescription).toMatch(
      /Runbook: https:\/\/github\.com\/acme\/traffic-manager\/blob\/main\/docs\/runbook\.md#[\w-]+$/,
    );
  });
});

describe('the runbook check', () => {
  it('slugs headings the way GitHub does, so the check above can fail', () => {
    expect(githubSlug('Api5xxRate')).toBe('api5xxrate');
    expect(githubSlug('Rolling back (prod)')).toBe('rolling-back-prod');
    expect(runbookAnchors.has('no-such-section')).toBe(false);
  });
});
