/** Version names and body keys that are special to JavaScript objects. */
import { expectProblem, registry, revisionNumbers, twoVersionBody, uniqueTenant } from './registry-client.ts';

describe('version names special to JavaScript', () => {
  it.each(['constructor', 'hasOwnProperty', 'toString', 'valueOf'])(
    'creates a version named %s (a valid version name)',
    async (name) => {
      const api = registry(uniqueTenant());
      const response = await api.putVersion(name, { url: `https://${name.toLowerCase()}.example.com`, weight: 10 });
      expect(response.status).toBe(201);
      expect(response.body.versions[name]).toEqual({
        url: `https://${name.toLowerCase()}.example.com`,
        weight: 10,
        state: 'active',
      });
      expect((await api.getRoute()).body).toEqual(response.body);
    },
  );

  it('refuses a __proto__ version key with 400 instead of silently emptying the route', async () => {
    const api = registry(uniqueTenant());
    const created = await api.putRoute(twoVersionBody());
    const response = await api.putRoute(
      '{"versions":{"__proto__":{"url":"https://a.example.com","weight":1,"state":"active"}}}',
      { headers: { 'Content-Type': 'application/json' } },
    );
    expectProblem(response, 400);
    expect((await api.getRoute()).body).toEqual(created.body);
    expect(await revisionNumbers(api)).toEqual([1]);
  });
});
