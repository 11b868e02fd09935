import 'reflect-metadata';
import { Command, CommanderError, Option } from 'commander';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { storedEvents, verifyHashChains } from '@crm/event-store';
import { ALL_READ_MODEL_PROJECTIONS, SqliteReadStore, verifyReadModels } from '@crm/read-models';
import { AppConfig, loadAppConfig } from '@crm/runtime/app-config';
import { embeddedDatabaseFile, openEventStore } from '@crm/runtime/event-store.module';
import { openReadStore } from '@crm/runtime/read-side-core.module';
import { backupEmbedded, CliError, restoreEmbedded } from './backup';
import { ProgressLine } from './progress';
import { ServiceClient } from './service-client';
import { printTable } from './table';

/**
 * The operator's CLI: `npm run crm -- <command>`. Exit codes scripts can rely on:
 *   0 done, and all is well
 *   1 done, and it found something wrong (differences, a faulted projection, a damaged backup)
 *   2 refused: bad usage, bad configuration, or an operation that is not safe now
 *   3 could not decide: the service or a store did not answer, or the log moved during `verify`
 */
export const EXIT = { ok: 0, problemFound: 1, refused: 2, undecided: 3 } as const;

function program(outcome: { code: number }): Command {
  /** An action resolves to its exit code. */
  const act =
    <A extends unknown[]>(action: (...args: A) => Promise<number>) =>
    async (...args: A) => {
      outcome.code = await action(...args);
    };
  const crm = new Command('crm')
    .description('Operate the lead lifecycle CRM: status, rebuilds, verification, history, backups')
    .showHelpAfterError()
    .exitOverride();
  const urlOption = () =>
    new Option('--url <url>', 'the running service (its admin key comes from CRM_API_KEY, never from the command line)').env('CRM_URL').default('http://127.0.0.1:3000');

  crm
    .command('status')
    .description('Each projection of the running service: status, position, lag, version, fault. Exit 1 when one is faulted or failing')
    .addOption(urlOption())
    .action(act(async ({ url }: { url: string }) => {
      const rows = await new ServiceClient(url).projections();
      printTable(
        rows.map((row) => ({ projection: row.name, status: row.status, position: row.position, lag: row.lag, version: row.version, ...(row.rebuild && { rebuilding: `v${row.rebuild.version} at ${row.rebuild.position}` }), error: row.lastError ?? '' })),
      );
      return rows.some((row) => row.status === 'faulted' || row.status === 'failed') ? EXIT.problemFound : EXIT.ok;
    }));

  crm
    .command('rebuild <name>')
    .description('Rebuild one read model in the running service from the first event, with a progress bar; returns when the new version is swapped in')
    .addOption(urlOption())
    .action(act(async (name: string, { url }: { url: string }) => {
      const client = new ServiceClient(url);
      const before = (await client.projections()).find((row) => row.name === name);
      if (!before) throw new CliError(`There is no read model named ${name}`, EXIT.refused);
      await client.rebuild(name);
      const progress = new ProgressLine(`rebuild ${name}`);
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        const row = (await client.projections()).find((r) => r.name === name)!;
        if (!row.rebuild && row.version > before.version) {
          progress.done(`${name} rebuilt: version ${row.version} swapped in at position ${row.position}, in ${progress.elapsedSeconds().toFixed(1)} s`);
          return EXIT.ok;
        }
        if (!row.rebuild) throw new CliError(`The rebuild of ${name} stopped without swapping in a new version (status ${row.status}${row.lastError ? `: ${row.lastError}` : ''})`, EXIT.problemFound);
        const head = BigInt(row.position) + BigInt(row.lag);
        progress.update(Number(BigInt(row.rebuild.position) + 1n), Number(head + 1n));
      }
    }));

  crm
    .command('verify')
    .description(
      'Replay the whole log into a scratch read store and compare every document of every read model with the live ones. Exit 1 on any difference, 3 when the log moved meanwhile. ' +
        'With --chain: check the tamper-evidence hash chain of every stream (or of --stream) instead; exit 1 on any broken event',
    )
    .option('--max-shown <n>', 'differences printed in full', '20')
    .option('--chain', 'check the hash chains of the events instead of the read models')
    .option('--stream <stream>', 'with --chain: only this stream, e.g. lead-<id>')
    .action(act(async ({ maxShown, chain, stream }: { maxShown: string; chain?: boolean; stream?: string }) => {
      const config = configFromEnvironment();
      if (chain) return verifyChains(config, stream);
      const events = openEventStore(config);
      const live = await openReadStore(config);
      const scratchDir = mkdtempSync(join(tmpdir(), 'crm-verify-'));
      const scratch = SqliteReadStore.open(join(scratchDir, 'scratch.sqlite'));
      const progress = new ProgressLine('replay');
      try {
        const result = await verifyReadModels({ events, live, scratch, projections: ALL_READ_MODEL_PROJECTIONS, onReplay: (position, head) => progress.update(Number(position + 1n), Number(head + 1n)) });
        if (result.inconclusive) {
          progress.done(`Inconclusive: ${result.inconclusive}`);
          return EXIT.undecided;
        }
        for (const difference of result.differences.slice(0, Number(maxShown))) {
          process.stdout.write(
            `${difference.kind.toUpperCase()} ${difference.readModel}/${difference.collection}/${difference.id}\n` +
              (difference.expected ? `  from the log: ${JSON.stringify(difference.expected)}\n` : '') +
              (difference.actual ? `  live:         ${JSON.stringify(difference.actual)}\n` : ''),
          );
        }
        const verdict = result.differences.length === 0 ? 'the read models are exactly what the events say' : `${result.differences.length} difference(s)`;
        progress.done(`Verified ${result.documents.toLocaleString('en')} documents of ${ALL_READ_MODEL_PROJECTIONS.length} read models at position ${result.position}, in ${progress.elapsedSeconds().toFixed(1)} s: ${verdict}`);
        return result.differences.length === 0 ? EXIT.ok : EXIT.problemFound;
      } finally {
        await scratch.close();
        rmSync(scratchDir, { recursive: true, force: true });
        await live.close();
        await events.close();
      }
    }));

  crm
    .command('history <stream>')
    .description('A record\'s events as a table, with both clocks (e.g. crm history lead-<id>)')
    .action(act(async (stream: string) => {
      const events = openEventStore(configFromEnvironment());
      try {
        const recorded = await events.readStream(stream);
        if (recorded.length === 0) throw new CliError(`There is no stream ${stream} (streams are named <record>-<id>, e.g. lead-<id>)`, EXIT.problemFound);
        printTable(
          recorded.map((e) => ({
            revision: e.revision,
            position: String(e.position),
            type: e.type,
            actor: e.metadata.actorId,
            'on behalf of': e.metadata.onBehalfOf ?? '',
            'occurred at (business)': e.metadata.occurredAt,
            'recorded at': e.recordedAt,
          })),
        );
        return EXIT.ok;
      } finally {
        await events.close();
      }
    }));

  crm
    .command('backup <file>')
    .description('Write a consistent copy of the embedded store to <file> while the service serves (SQLite online backup): events, read models and the personal-data keys, which live in the same file. Keep it as safe as the keys: it can decrypt everyone not erased when it was taken')
    .action(act(async (file: string) => {
      const config = configFromEnvironment();
      embeddedOnly(config, 'backup');
      const progress = new ProgressLine('backup');
      const { pages } = await backupEmbedded(embeddedDatabaseFile(config.dataDir), file, (done, total) => progress.update(done, total));
      progress.done(`Backed up ${pages.toLocaleString('en')} pages to ${file} (events, read models and personal-data keys)`);
      return EXIT.ok;
    }));

  crm
    .command('restore <file>')
    .description('Put a backup in place as the embedded store of DATA_DIR; the service must be stopped')
    .option('--replace', 'overwrite the store DATA_DIR holds now')
    .action(act(async (file: string, { replace }: { replace?: boolean }) => {
      const config = configFromEnvironment();
      embeddedOnly(config, 'restore');
      const { events } = restoreEmbedded(file, embeddedDatabaseFile(config.dataDir), { replace: replace === true });
      process.stdout.write(`Restored ${events.toLocaleString('en')} events (and the read models and personal-data keys beside them) into ${config.dataDir}\n`);
      return EXIT.ok;
    }));
  return crm;
}

/** `crm verify --chain`: every broken event by stream and revision. */
async function verifyChains(config: AppConfig, stream: string | undefined): Promise<number> {
  const events = openEventStore(config);
  try {
    const result = await verifyHashChains(storedEvents(events), stream);
    if (result.broken.length > 0) printTable(result.broken.map(({ stream: s, revision }) => ({ broken: s, revision })));
    process.stderr.write(
      `Checked ${result.events.toLocaleString('en')} events in ${result.streams.toLocaleString('en')} stream(s): ` +
        `${result.broken.length === 0 ? 'every hash chain holds' : `${result.broken.length} broken event(s)`}` +
        `${result.unhashed > 0 ? `; ${result.unhashed.toLocaleString('en')} event(s) written before hash chains carry no hash and were not judged` : ''}\n`,
    );
    if (stream !== undefined && result.events === 0) throw new CliError(`There is no stream ${stream}`, EXIT.problemFound);
    return result.broken.length === 0 ? EXIT.ok : EXIT.problemFound;
  } finally {
    await events.close();
  }
}

/** The service's own configuration (the same variables): a bad value is a refusal, named as the service names it. */
function configFromEnvironment(): AppConfig {
  try {
    return loadAppConfig();
  } catch (error) {
    throw new CliError((error as Error).message, EXIT.refused);
  }
}

function embeddedOnly(config: AppConfig, command: string): void {
  if (config.eventStoreUrl || config.mongodbUrl) {
    throw new CliError(
      `crm ${command} copies the embedded SQLite store; with EVENTSTORE_URL / MONGODB_URL set, use the servers' own backups (EventStoreDB: file-copy or snapshot of its data directory; MongoDB: mongodump or a snapshot)`,
      EXIT.refused,
    );
  }
}

export async function run(argv: string[]): Promise<number> {
  const outcome = { code: EXIT.ok as number };
  try {
    await program(outcome).parseAsync(argv, { from: 'user' });
    return outcome.code;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.refused;
    if (error instanceof CliError) {
      process.stderr.write(`crm: ${error.message}\n`);
      return error.exitCode;
    }
    process.stderr.write(`crm: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.undecided;
  }
}

if (require.main === module) {
  void run(process.argv.slice(2)).then((code) => process.exit(code));
}
