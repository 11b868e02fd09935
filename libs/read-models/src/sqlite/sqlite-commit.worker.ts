/**
 * The read store's commit thread (see SqliteCommitThread): commits what it is handed, in order,
 * on a connection of its own. After a commit fails, the commits of the same generation handed
 * over behind it are refused unwritten: they were applied on top of the one that failed.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { FromCommitThread, ToCommitThread } from './sqlite-commit-thread';
import { PreparedStatements } from './prepared-statements';
import { openReadStoreConnection, SqliteDocumentWriter } from './sqlite-document-writer';

const port = parentPort!;
const db = openReadStoreConnection((workerData as { file: string }).file);
const writer = new SqliteDocumentWriter(new PreparedStatements(db));
let refusedGeneration = -1;

port.on('message', (message: ToCommitThread) => {
  if (message.kind === 'close') {
    db.close();
    port.close();
    return;
  }
  const { id, generation, commit } = message;
  let answer: FromCommitThread;
  if (generation <= refusedGeneration) {
    answer = { id, failure: { name: 'EarlierCommitFailedError', message: 'A read-store commit handed over before this one failed: this one was not written' } };
  } else {
    try {
      writer.commit(commit);
      answer = { id };
    } catch (error) {
      refusedGeneration = generation;
      // The message names the SQLite error or the lease, never a document's content.
      const { name, code, message: text } = error as { name?: string; code?: string; message?: string };
      answer = { id, failure: { name: name ?? 'Error', code, message: text ?? String(error) } };
    }
  }
  port.postMessage(answer);
});
