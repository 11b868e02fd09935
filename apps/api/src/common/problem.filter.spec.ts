import { ArgumentsHost, Logger } from '@nestjs/common';
import { EventLogWriterStoppedError } from '@crm/event-store';
import { knownProblemOf, ProblemFilter } from './problem.filter';

/** What the filter answered, read off a stand-in for Fastify's reply (the filter is called as Nest calls it). */
function answerTo(exception: unknown) {
  const sent = { status: 0, headers: {} as Record<string, string>, body: undefined as unknown };
  const reply = {
    status: (status: number) => ((sent.status = status), reply),
    header: (name: string, value: string) => ((sent.headers[name.toLowerCase()] = value), reply),
    headers: (headers: Record<string, string>) => (Object.entries(headers).forEach(([name, value]) => (sent.headers[name.toLowerCase()] = value)), reply),
    send: (body: unknown) => ((sent.body = body), reply),
  };
  const request = { method: 'POST', routeOptions: { url: '/leads' }, correlationId: 'corr-1' };
  const host = { switchToHttp: () => ({ getResponse: () => reply, getRequest: () => request }) } as unknown as ArgumentsHost;
  new ProblemFilter().catch(exception, host);
  return sent;
}

describe('ProblemFilter', () => {
  let logged: jest.SpyInstance;
  beforeEach(() => (logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined)));
  afterEach(() => logged.mockRestore());

  it('answers 503 with Retry-After, not 500, when the event-log writer thread has stopped, and logs it', () => {
    const sent = answerTo(new EventLogWriterStoppedError('exit code 1'));
    expect(sent.status).toBe(503);
    expect(sent.headers).toMatchObject({ 'retry-after': '1', 'content-type': 'application/problem+json' });
    expect(sent.body).toMatchObject({ type: '/problems/event-store-unavailable', status: 503 });
    expect(logged).toHaveBeenCalledTimes(1);
    expect(String(logged.mock.calls[0][0])).toContain('POST /leads (correlation id corr-1)');
  });

  it('answers 503 when the writer thread reports the file locked past its busy timeout (SQLITE_BUSY, as it crosses threads)', () => {
    const failure = Object.assign(new Error('database is locked'), { name: 'SqliteError', code: 'SQLITE_BUSY' });
    expect(answerTo(failure)).toMatchObject({ status: 503, body: { type: '/problems/event-store-unavailable' } });
  });

  it('answers any other unexpected error 500 with nothing of its text, and no Retry-After', () => {
    const sent = answerTo(new Error('secret detail'));
    expect(sent.status).toBe(500);
    expect(sent.headers['retry-after']).toBeUndefined();
    expect(JSON.stringify(sent.body)).not.toContain('secret detail');
  });

  it('keeps a stopped writer an unexpected error to bulk and import runs (they stop and resume instead of refusing the item)', () => {
    expect(knownProblemOf(new EventLogWriterStoppedError('exit code 1'))).toBeUndefined();
  });
});
