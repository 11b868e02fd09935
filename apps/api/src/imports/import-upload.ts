import type { ImportFormat } from '@crm/domain';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';
import { problem, ProblemException } from '../common/problem';
import { ImportFiles, IMPORT_LIMIT_BYTES, ReceivedFile, tooLarge } from './import-files';

export const IMPORT_ROUTE = '/leads/import';

const FORMATS: Record<string, ImportFormat> = { 'application/x-ndjson': 'ndjson', 'text/csv': 'csv' };

/**
 * What the body of `POST /leads/import` parses to: the file's format, size and hash (what an
 * Idempotency-Key's request fingerprint covers), with the received file beside them (not
 * enumerable, so the fingerprint never includes a path).
 */
export interface ImportUpload {
  format: ImportFormat;
  bytes: number;
  sha256: string;
}

const RECEIVED = Symbol('received file');

export function receivedFileOf(body: unknown): ReceivedFile | undefined {
  return (body as { [RECEIVED]?: ReceivedFile } | undefined)?.[RECEIVED];
}

/**
 * NDJSON and CSV bodies, for the import route only, streamed to a file under DATA_DIR (up to
 * 50 MiB, 413 past it, checked on Content-Length first and on the bytes as they come); every
 * other route keeps answering 415 to them.
 */
export function acceptImportUploads(app: NestFastifyApplication): void {
  const files = app.get(ImportFiles);
  const fastify = app.getHttpAdapter().getInstance();
  // A request refused after its file was received (a bad query, a key too long…) leaves no file: once kept, the received name is gone.
  fastify.addHook('onResponse', async (request) => {
    const received = receivedFileOf(request.body);
    if (received) await files.remove(received.path);
  });
  fastify.addContentTypeParser(Object.keys(FORMATS), (request: FastifyRequest, payload, done) => {
    if (request.routeOptions.url !== IMPORT_ROUTE || request.method !== 'POST') {
      return done(new ProblemException(problem(415, 'unsupported-media-type', 'The body must be application/json', `${request.headers['content-type']} is taken by POST ${IMPORT_ROUTE} only`, { errors: [{ field: 'body', message: 'must be application/json' }] })), undefined);
    }
    if (Number(request.headers['content-length'] ?? 0) > IMPORT_LIMIT_BYTES) return done(tooLarge(), undefined);
    const format = FORMATS[(request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase()];
    files.receive(payload, format).then(
      (received) => {
        const upload: ImportUpload = { format: received.format, bytes: received.bytes, sha256: received.sha256 };
        Object.defineProperty(upload, RECEIVED, { value: received, enumerable: false });
        done(null, upload);
      },
      (error) => done(error instanceof ProblemException ? error : Object.assign(new Error('The upload was interrupted'), { statusCode: 400 }), undefined),
    );
  });
}
