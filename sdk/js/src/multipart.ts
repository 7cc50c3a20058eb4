/**
 * A streamed multipart/form-data body (RFC 7578) that reports upload progress.
 *
 * fetch reports nothing while it sends; a ReadableStream body (sent with `duplex: 'half'`)
 * lets us count the bytes of the file as the HTTP stack pulls them. Every input becomes a
 * Blob (a path through `fs.openAsBlob`, which reads lazily), so the body can be produced
 * again for a retry.
 */

import { openAsBlob } from 'node:fs';
import { basename } from 'node:path';

import type { ProgressCallback } from './types.js';

const encoder = new TextEncoder();

function quote(value: string): string {
  // WHATWG multipart/form-data encoding of names and filenames: escape LF, CR and '"'.
  return value.replace(/\n/g, '%0A').replace(/\r/g, '%0D').replace(/"/g, '%22');
}

export class Multipart {
  readonly boundary = `apf-${crypto.randomUUID().replace(/-/g, '')}`;
  private readonly head: Uint8Array;
  private readonly tail: Uint8Array;

  private constructor(
    fields: Record<string, string>,
    private readonly file: Blob,
    filename: string,
  ) {
    let head = '';
    for (const [name, value] of Object.entries(fields)) {
      head += `--${this.boundary}\r\nContent-Disposition: form-data; name="${quote(name)}"\r\n\r\n${value}\r\n`;
    }
    head +=
      `--${this.boundary}\r\nContent-Disposition: form-data; name="file"; filename="${quote(filename)}"\r\n` +
      'Content-Type: application/octet-stream\r\n\r\n';
    this.head = encoder.encode(head);
    this.tail = encoder.encode(`\r\n--${this.boundary}--\r\n`);
  }

  static async create(
    fields: Record<string, string>,
    file: string | Blob | Uint8Array | ArrayBuffer,
    filename?: string,
  ): Promise<Multipart> {
    if (typeof file === 'string') {
      return new Multipart(fields, await openAsBlob(file), filename ?? basename(file));
    }
    if (file instanceof Blob) {
      const name = filename ?? ((file as Partial<File>).name || 'upload.gcode');
      return new Multipart(fields, file, name);
    }
    const bytes = file instanceof Uint8Array ? file : new Uint8Array(file);
    return new Multipart(fields, new Blob([bytes]), filename ?? 'upload.gcode');
  }

  get fileSize(): number {
    return this.file.size;
  }

  get contentLength(): number {
    return this.head.byteLength + this.file.size + this.tail.byteLength;
  }

  headers(): Record<string, string> {
    return {
      'Content-Type': `multipart/form-data; boundary=${this.boundary}`,
      'Content-Length': String(this.contentLength),
    };
  }

  /** A fresh body stream; `onChunk` runs whenever the HTTP stack takes more bytes. */
  stream(onProgress: ProgressCallback | undefined, onChunk: () => void): ReadableStream<Uint8Array> {
    const { head, tail, file } = this;
    const total = file.size;
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    let stage: 'head' | 'file' | 'tail' | 'done' = 'head';
    let sent = 0;
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        onChunk();
        if (stage === 'head') {
          controller.enqueue(head);
          stage = 'file';
          reader = file.stream().getReader() as ReadableStreamDefaultReader<Uint8Array>;
          return;
        }
        if (stage === 'file') {
          const { done, value } = await reader!.read();
          if (!done && value) {
            controller.enqueue(value);
            sent += value.byteLength;
            onProgress?.(sent, total);
            return;
          }
          if (sent === 0) onProgress?.(0, total);
          stage = 'tail';
        }
        if (stage === 'tail') {
          controller.enqueue(tail);
          stage = 'done';
          return;
        }
        controller.close();
      },
      async cancel(reason) {
        await reader?.cancel(reason);
      },
    });
  }
}
