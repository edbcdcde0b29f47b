import { eventLine } from '#local/event-tools';
import { isNpmCommand } from '#local/launchers';

describe('isNpmCommand (which launcher npm start stops with)', () => {
  it.each(['npm start', 'npm run start', 'npm exec tsx local/start.ts', 'node /usr/lib/node_modules/npm/bin/npm-cli.js start', '/usr/bin/npm start'])(
    'recognises %s',
    (args) => expect(isNpmCommand(args)).toBe(true),
  );

  it.each(['node /work/node_modules/.bin/tsx local/start.ts', 'sh -c tsx local/start.ts', 'bash', 'npmish start', 'node npm-cli-helper.js'])(
    'does not take %s for npm',
    (args) => expect(isNpmCommand(args)).toBe(false),
  );
});

describe('eventLine (npm run events)', () => {
  it('prints time, detail-type, tenant/service/env, revision and eventId', () => {
    const body = JSON.stringify({
      time: '2026-12-01T10:00:00Z',
      'detail-type': 'Route Updated',
      detail: { tenant: 'acme', service: 'checkout', env: 'prod', revision: 7, eventId: 'e-1' },
    });
    expect(eventLine(body)).toBe('2026-12-01T10:00:00Z  Route Updated  acme/checkout/prod  rev 7  e-1');
  });

  it('still prints something readable for a body that is not a route event', () => {
    expect(eventLine('{"time":"t"}')).toBe('t  ?              ?/?/?  rev ?  ?');
    expect(eventLine('oops')).toBe('(not JSON) oops');
  });
});
