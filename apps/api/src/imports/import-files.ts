import { Inject, Injectable } from '@nestjs/common';
import type { ImportFormat } from '@crm/domain';
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { APP_CONFIG, AppConfig } from '@crm/runtime/app-config';
import { problem, ProblemException } from '../common/problem';

/** The largest file `POST /leads/import` takes (API.md). */
export const IMPORT_LIMIT_BYTES = 50 * 1024 * 1024;

/** A file received and made durable, not yet an import. */
export interface ReceivedFile {
  path: string;
  format: ImportFormat;
  bytes: number;
  sha256: string;
}

/** An accepted import's file, kept until the import is done. */
export interface KeptFile {
  importId: string;
  format: ImportFormat;
  path: string;
}

const KEPT = /^([0-9a-f-]{36})\.[0-9a-f]{64}\.(ndjson|csv)$/;
const RECEIVING = '.receiving';

export function tooLarge(): ProblemException {
  return new ProblemException(
    problem(413, 'body-too-large', 'The file is larger than 50 MiB', `An import takes at most ${IMPORT_LIMIT_BYTES} bytes; split the file`, {
      errors: [{ field: 'body', message: 'larger than 50 MiB' }],
    }),
  );
}

/**
 * The files of imports, under `DATA_DIR/imports`: an upload is streamed to a `.receiving` file
 * (never held in memory whole), flushed to disk, and then kept as
 * `<importId>.<sha256>.<format>` before the import is accepted; it is deleted once the import is
 * done. A kept file whose import is not done is what a restart resumes.
 */
@Injectable()
export class ImportFiles {
  readonly directory: string;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.directory = join(config.dataDir, 'imports');
  }

  /** Streams an upload to disk, refusing it past the limit (413); the file is on disk (fsync) when this resolves. */
  async receive(body: Readable, format: ImportFormat, limitBytes = IMPORT_LIMIT_BYTES): Promise<ReceivedFile> {
    await mkdir(this.directory, { recursive: true });
    const path = join(this.directory, `${randomUUID()}${RECEIVING}`);
    const hash = createHash('sha256');
    let bytes = 0;
    const counted = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        bytes += chunk.length;
        if (bytes > limitBytes) return done(tooLarge());
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(body, counted, createWriteStream(path, { flags: 'wx' }));
      await flushToDisk(path);
    } catch (error) {
      await rm(path, { force: true });
      throw error;
    }
    return { path, format, bytes, sha256: hash.digest('hex') };
  }

  /** Keeps a received file as the file of an import (an import sent again with the same content finds its file kept already). */
  async keep(received: ReceivedFile, importId: string): Promise<KeptFile> {
    const path = join(this.directory, `${importId}.${received.sha256}.${received.format}`);
    await rename(received.path, path);
    await flushToDisk(this.directory);
    return { importId, format: received.format, path };
  }

  /** The kept files (imports accepted, or about to be, and not done); receiving files a crash left behind are deleted. */
  async kept(): Promise<KeptFile[]> {
    const names = await readdir(this.directory).catch(() => [] as string[]);
    const files: KeptFile[] = [];
    for (const name of names) {
      const match = KEPT.exec(name);
      if (match) files.push({ importId: match[1], format: match[2] as ImportFormat, path: join(this.directory, name) });
      else if (name.endsWith(RECEIVING)) await rm(join(this.directory, name), { force: true });
    }
    return files;
  }

  async remove(path: string): Promise<void> {
    await rm(path, { force: true });
  }
}

async function flushToDisk(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
