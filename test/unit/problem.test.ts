import { NotFoundError, ValidationError } from '#shared/errors/http-errors';
import { problemFor, problemTypeBase } from '#shared/middleware/problem';

describe('problemFor', () => {
  it('exposes the detail and field errors of a client error', () => {
    const { body } = problemFor(
      new ValidationError('Invalid request body.', [{ path: 'versions.v2.url', message: 'bad' }]),
      'req-1',
    );
    expect(body).toEqual({
      type: `${problemTypeBase}validation`,
      title: 'Bad Request',
      status: 400,
      detail: 'Invalid request body.',
      requestId: 'req-1',
      errors: [{ path: 'versions.v2.url', message: 'bad' }],
    });
  });

  it('hides the message of an unknown error behind a fixed 500', () => {
    const { body } = problemFor(new Error('ConditionalCheckFailed on table secret-table'), 'req-2');
    expect(body.status).toBe(500);
    expect(JSON.stringify(body)).not.toContain('secret-table');
    expect(body.detail).toContain('req-2');
  });

  it('keeps the status of each HttpError subclass', () => {
    expect(problemFor(new NotFoundError('nope'), 'r').body.status).toBe(404);
  });
});
