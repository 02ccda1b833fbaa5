// One large upload: 300 MB generated as a stream (never held in memory), default part size policy,
// downloaded again and compared by SHA-1.
import { afterEach, describe, expect, it } from 'vitest';
import { hashStream, MiB, randomSource, startHarness, type Harness } from './emulatorHarness.ts';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe('uploadBigFile, several hundred MB', () => {
  it('300,000,000 bytes streamed through parallel parts, byte-exact after download', async () => {
    harness = await startHarness({ partSize: undefined, minChunkedFileSize: 20_000_000 });
    const size = 300_000_000;
    const source = randomSource(size, MiB);
    let lastParts = 0;
    const file = await harness.client.chunkedUploads.uploadBigFile(source.stream, 'large.bin', size, '0', {
      concurrency: 4,
      onProgress: (p) => (lastParts = p.parts),
    });
    expect(file).toMatchObject({ size, sha1: source.sha1() });
    expect(lastParts).toBe(Math.ceil(size / (8 * MiB)));
    expect(harness.box.stats().maxPartsInFlight).toBeLessThanOrEqual(4);
    expect(await hashStream(await harness.client.files.downloadFile(file.id))).toEqual({ sha1: source.sha1(), size });
  }, 180_000);
});
