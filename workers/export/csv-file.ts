// A CSV file written line by line with backpressure (memory stays flat however many rows), counting
// the bytes it wrote. Customer exports (run.ts) and audit exports (audit-run.ts) both write through it.
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';

export interface CsvFile {
  write(line: string): Promise<void>;
  /** Flushes and closes; the byte count is final afterwards. */
  close(): Promise<void>;
  readonly bytes: number;
}

export function openCsvFile(file: string): CsvFile {
  const out = createWriteStream(file, { encoding: 'utf8' });
  let bytes = 0;
  return {
    async write(line: string) {
      bytes += Buffer.byteLength(line);
      if (!out.write(line)) await once(out, 'drain');
    },
    async close() {
      out.end();
      await once(out, 'finish');
    },
    get bytes() { return bytes; },
  };
}
