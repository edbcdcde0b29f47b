/**
 * Concurrent writers through the real handlers against the emulator: optimistic
 * concurrency with If-Match (one winner, the rest 412), and atomic writes without a
 * precondition (every writer's change lands, none lost), revisions contiguous either way.
 */
import { jest } from '@jest/globals';
import { registry, revisionNumbers, twoVersionBody, uniqueTenant, version, type Problem } from './registry-client.ts';

jest.setTimeout(120_000);

/**
 * Racing writers retry on a fresh read with backoff; against one shared emulator, busy with
 * other suites, that can outlast the 10 s a function gets in AWS. What is asserted here is
 * that no write is lost, not latency, so each invocation gets a longer budget.
 */
const slow = { deadlineMs: 45_000 };

/**
 * A dozen writers without a precondition, as the registry issue asks; writeRoute's attempt
 * bound (MAX_WRITE_ATTEMPTS) is what guarantees they all land, since each of n racing
 * writers loses at most n - 1 times.
 */
const RACING_WRITERS = 12;

/** 1..n, newest first. */
function contiguous(n: number): number[] {
  return Array.from({ length: n }, (_, index) => n - index);
}

describe('concurrent writers', () => {
  it('lets exactly one of 16 PATCH writers with the same If-Match win; the others get 412', async () => {
    const api = registry(uniqueTenant());
    const created = await api.putRoute(twoVersionBody());
    expect(created.headers.etag).toBe('"1"');

    const responses = await Promise.all(
      Array.from({ length: 16 }, (_, index) =>
        api.patchVersion('v2', { weight: 100 + index }, { ...slow, headers: { 'If-Match': '"1"' }, sub: `writer-${index}` }),
      ),
    );

    const statuses = responses.map((response) => response.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
    expect(statuses.filter((status) => status === 412)).toHaveLength(15);
    for (const refused of responses.filter((response) => response.status === 412)) {
      expect(refused.headers['content-type']).toBe('application/problem+json');
      expect((refused.body as unknown as Problem).status).toBe(412);
    }
    const winner = responses.find((response) => response.status === 200);
    expect(winner?.headers.etag).toBe('"2"');
    const read = await api.getRoute();
    expect(read.body).toEqual(winner?.body);
    expect(await revisionNumbers(api)).toEqual([2, 1]);
    const revision2 = await api.getRevision(2);
    expect(revision2.body.actor).toBe(winner?.body.updatedBy);
  });

  it('commits every one of a dozen writers without a precondition, losing none', async () => {
    const api = registry(uniqueTenant());
    const created = await api.putRoute({ versions: { base: version('base') }, defaultVersion: 'base' });
    expect(created.status).toBe(201);
    const names = Array.from({ length: RACING_WRITERS }, (_, index) => `v${index + 1}`);

    const responses = await Promise.all(names.map((name) => api.putVersion(name, version(name, 10), slow)));

    expect(responses.map((response) => response.status)).toEqual(names.map(() => 201));
    const etags = responses.map((response) => response.headers.etag);
    expect(new Set(etags).size).toBe(RACING_WRITERS);
    const read = await api.getRoute();
    expect(read.status).toBe(200);
    expect(Object.keys(read.body.versions).sort()).toEqual(['base', ...names].sort());
    expect(read.body.revision).toBe(RACING_WRITERS + 1);
    expect(await revisionNumbers(api)).toEqual(contiguous(RACING_WRITERS + 1));
    // Each revision adds exactly one version to the one before.
    const history = (await api.listRevisions({ query: { limit: '100' } })).body.items.reverse();
    history.slice(1).forEach((revision, index) => {
      const before = Object.keys(history[index]?.route?.versions ?? {});
      const after = Object.keys(revision.route?.versions ?? {});
      expect(after.length).toBe(before.length + 1);
      expect(after).toEqual(expect.arrayContaining(before));
    });
  });

  it('creates a route once when a dozen version PUTs race on an absent route', async () => {
    const api = registry(uniqueTenant());
    const names = Array.from({ length: RACING_WRITERS }, (_, index) => `v${index + 1}`);

    const responses = await Promise.all(names.map((name) => api.putVersion(name, version(name, 10), slow)));

    expect(responses.map((response) => response.status)).toEqual(names.map(() => 201));
    const read = await api.getRoute();
    expect(Object.keys(read.body.versions).sort()).toEqual([...names].sort());
    expect(await revisionNumbers(api)).toEqual(contiguous(RACING_WRITERS));
    const first = await api.getRevision(1);
    expect(first.body.route?.defaultVersion).toBe(Object.keys(first.body.route?.versions ?? {})[0]);
    expect(read.body.defaultVersion).toBe(first.body.route?.defaultVersion);
  });
});
