import { loadAppConfig } from './app-config';

describe('Configuration from the environment', () => {
  it('has a working default for every variable', () => {
    expect(loadAppConfig({})).toMatchObject({ host: '127.0.0.1', port: 3000, projector: 'embedded', projectorLeaseMs: 15_000, shutdownGraceMs: 10_000, logLevel: 'info', production: false });
  });

  it('keeps hash chains and personal-data encryption on unless a benchmark turns them off', () => {
    expect(loadAppConfig({}).benchmarkWithoutEventProtection).toBeUndefined();
    expect(loadAppConfig({ BENCH_EVENT_PROTECTION: 'on' }).benchmarkWithoutEventProtection).toBeUndefined();
    expect(loadAppConfig({ BENCH_EVENT_PROTECTION: 'off', NODE_ENV: 'benchmark' }).benchmarkWithoutEventProtection).toBe(true);
  });

  it.each([
    [{ PORT: '70000' }, 'PORT must be a TCP port number, got "70000"'],
    [{ PROJECTOR: 'sometimes' }, 'PROJECTOR must be "embedded" or "external", got "sometimes"'],
    [{ PROJECTOR_LEASE_MS: '-5' }, 'PROJECTOR_LEASE_MS must be a whole number > 0, got "-5"'],
    [{ SHUTDOWN_GRACE_MS: 'soon' }, 'SHUTDOWN_GRACE_MS must be a whole number > 0, got "soon"'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent, got "loud"'],
    [{ RATE_LIMIT_PER_MINUTE: '0' }, 'RATE_LIMIT_PER_MINUTE must be a whole number > 0, got "0"'],
    [{ EVENTSTORE_URL: 'http://127.0.0.1:2113' }, 'EVENTSTORE_URL must start with esdb:// or esdb+discover:// (e.g. esdb://127.0.0.1:2113?tls=false), got "http://…"'],
    [{ EVENTSTORE_URL: '127.0.0.1:2113' }, 'EVENTSTORE_URL must be a connection string such as esdb://127.0.0.1:2113?tls=false'],
    [{ MONGODB_URL: 'postgres://db' }, 'MONGODB_URL must start with mongodb:// or mongodb+srv://'],
    [{ BENCH_EVENT_PROTECTION: 'off' }, 'BENCH_EVENT_PROTECTION=off is for bench:capture only (NODE_ENV=benchmark)'],
    [{ BENCH_EVENT_PROTECTION: 'off', NODE_ENV: 'production' }, 'BENCH_EVENT_PROTECTION=off is for bench:capture only (NODE_ENV=benchmark)'],
    [{ BENCH_EVENT_PROTECTION: 'partly', NODE_ENV: 'benchmark' }, 'BENCH_EVENT_PROTECTION must be "on" or "off", got "partly"'],
  ])('refuses %j, naming the variable and what it accepts', (env, message) => {
    expect(() => loadAppConfig(env)).toThrow(message);
  });
});
