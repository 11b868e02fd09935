/**
 * The embedded event log's writer thread (see EventLogWriterThread). Batches that arrive while
 * it commits wait for the next commit, so they share its fsync: the busier the writer, the more
 * appends each commit carries.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { FromWriterThread, ToWriterThread, WriterThreadData } from './event-log-writer';
import { encodeOutcome } from './event-log-writer';
import { openSqliteDatabase } from './open-sqlite-database';
import { SqliteEventWriter } from './sqlite-event-writer';

const port = parentPort!;
const { file, options } = workerData as WriterThreadData;
const writer = new SqliteEventWriter(openSqliteDatabase(file), options);
let waiting: Extract<ToWriterThread, { kind: 'batch' }>[] = [];
let commitScheduled = false;

port.on('message', (message: ToWriterThread) => {
  if (message.kind === 'close') {
    commit();
    writer.close();
    port.close();
    return;
  }
  waiting.push(message);
  if (!commitScheduled) {
    commitScheduled = true;
    setImmediate(commit);
  }
});

function commit(): void {
  const batches = waiting;
  waiting = [];
  commitScheduled = false;
  if (batches.length === 0) return;
  const answers: FromWriterThread['answers'] = [];
  try {
    const outcomes = writer.commit(batches.flatMap((batch) => batch.groups)).map(encodeOutcome);
    let offset = 0;
    for (const { batch, groups } of batches) {
      answers.push({ batch, outcomes: outcomes.slice(offset, offset + groups.length) });
      offset += groups.length;
    }
  } catch (error) {
    // The whole transaction failed (the disk, the lock): nothing of it is stored. The message
    // names the SQLite error, never a row's content.
    const { name, code, message } = error as { name?: string; code?: string; message?: string };
    for (const { batch } of batches) answers.push({ batch, failure: { name: name ?? 'Error', code, message: message ?? String(error) } });
  }
  port.postMessage({ answers } satisfies FromWriterThread);
}
