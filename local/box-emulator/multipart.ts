// A small streaming multipart/form-data reader: each part's body is handed on chunk by chunk, so a
// file part goes to disk without being held in memory.
import { badRequest } from './errors.ts';

export interface MultipartPartInfo {
  name: string;
  filename: string | undefined;
  headers: Record<string, string>;
}

export interface MultipartPartSink {
  data(chunk: Buffer): Promise<void> | void;
  end(): Promise<void> | void;
}

export function boundaryOf(contentType: string | undefined): string {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  const boundary = m?.[1] ?? m?.[2];
  if (!contentType?.toLowerCase().startsWith('multipart/form-data') || boundary === undefined) {
    throw badRequest('Expected a multipart/form-data body with a boundary');
  }
  return boundary;
}

function parseHeaders(block: string): MultipartPartInfo {
  const headers: Record<string, string> = {};
  for (const line of block.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  const disposition = headers['content-disposition'] ?? '';
  const name = /\bname="([^"]*)"/i.exec(disposition)?.[1];
  if (name === undefined) throw badRequest('A multipart part has no name');
  const filename = /\bfilename="([^"]*)"/i.exec(disposition)?.[1];
  return { name, filename, headers };
}

/**
 * Reads `source` as multipart/form-data. `onPart` is called for each part (in order) and returns
 * where its bytes go.
 */
export async function readMultipart(
  source: AsyncIterable<Buffer>,
  boundary: string,
  onPart: (info: MultipartPartInfo) => Promise<MultipartPartSink> | MultipartPartSink,
): Promise<void> {
  const opening = Buffer.from(`--${boundary}`);
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  const headerEnd = Buffer.from('\r\n\r\n');
  type State = 'preamble' | 'afterDelimiter' | 'headers' | 'body' | 'done';
  let buf: Buffer = Buffer.alloc(0);
  let state = 'preamble' as State;
  let sink: MultipartPartSink | undefined;

  const step = async (): Promise<boolean> => {
    switch (state) {
      case 'preamble': {
        const i = buf.indexOf(opening);
        if (i < 0) return false;
        buf = buf.subarray(i + opening.length);
        state = 'afterDelimiter';
        return true;
      }
      case 'afterDelimiter': {
        if (buf.length < 2) return false;
        if (buf[0] === 0x2d && buf[1] === 0x2d) {
          state = 'done';
          return false;
        }
        const eol = buf.indexOf('\r\n');
        if (eol < 0) return false;
        buf = buf.subarray(eol + 2);
        state = 'headers';
        return true;
      }
      case 'headers': {
        const i = buf.indexOf(headerEnd);
        if (i < 0) {
          if (buf.length > 64 * 1024) throw badRequest('Multipart part headers are too long');
          return false;
        }
        const info = parseHeaders(buf.subarray(0, i).toString('utf8'));
        buf = buf.subarray(i + headerEnd.length);
        sink = await onPart(info);
        state = 'body';
        return true;
      }
      case 'body': {
        const i = buf.indexOf(delimiter);
        if (i >= 0) {
          if (i > 0) await sink?.data(buf.subarray(0, i));
          await sink?.end();
          sink = undefined;
          buf = buf.subarray(i + delimiter.length);
          state = 'afterDelimiter';
          return true;
        }
        // Keep a tail that could be the start of the delimiter.
        const keep = delimiter.length - 1;
        if (buf.length > keep) {
          await sink?.data(buf.subarray(0, buf.length - keep));
          buf = Buffer.from(buf.subarray(buf.length - keep));
        }
        return false;
      }
      case 'done':
        return false;
    }
  };

  for await (const chunk of source) {
    if (state === 'done') continue; // epilogue
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    while (await step());
  }
  if (state !== 'done') throw badRequest('Multipart body ended before its closing boundary');
}
