/**
 * The retry budget (shared/clients/aws-client-config.ts): the SDK's standard retry mode with
 * its retry quota. While a dependency keeps failing, every call first retries (three
 * attempts); once the quota is spent, calls fail at their first attempt instead of
 * multiplying the load on a struggling service. Faults are injected next to the wire, below
 * the SDK's real retry middleware, on this test file's own client (Jest gives each file its
 * own modules, so no other test shares the drained quota).
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { dynamoDbClient, tableName } from '#shared/clients/dynamodb';
import { MAX_ATTEMPTS } from '#shared/clients/aws-client-config';
import { injectFault, internalServerError } from '#test/support/fault-injection';


/** One GetItem against the failing table; resolves with the attempts the SDK made. */
async function attemptsOfOneCall(fault: { readonly attempts: number }): Promise<number> {
  const before = fault.attempts;
  await expect(
    dynamoDbClient.send(new GetItemCommand({ TableName: tableName, Key: { PK: { S: 'budget' }, SK: { S: 'budget' } } })),
  ).rejects.toThrow('Internal server error');
  return fault.attempts - before;
}

describe('the retry budget', () => {
  it('retries each call while the quota lasts, then fails fast at the first attempt', async () => {
    const fault = injectFault(dynamoDbClient, { command: 'GetItemCommand', times: 10_000, error: internalServerError });
    try {
      const perCall: number[] = [];
      // 500 tokens, 5 per retried error: the quota is gone after 100 retries (50 calls).
      for (let call = 0; call < 60; call += 1) perCall.push(await attemptsOfOneCall(fault));
      expect(perCall[0]).toBe(MAX_ATTEMPTS);
      expect(perCall.slice(-5)).toEqual([1, 1, 1, 1, 1]);
      const retried = perCall.reduce((sum, attempts) => sum + attempts - 1, 0);
      expect(retried).toBeLessThanOrEqual(100);
    } finally {
      fault.remove();
    }
  });
});
