// Live progress for long transfers: bars on a terminal, periodic plain lines elsewhere (CI, pipes).
import cliProgress from 'cli-progress';

export type ProgressUpdate =
  | { kind: 'plan'; mode: 'direct' | 'chunked'; totalBytes: number; totalParts: number; partSize: number }
  | { kind: 'parts'; parts: number; bytes: number }
  | { kind: 'hash'; offset: number }
  | { kind: 'commit-wait'; seconds: number; attempts: number }
  | { kind: 'state'; name: string };

export interface ProgressDisplay {
  update(u: ProgressUpdate): void;
  /** Print a line (e.g. a log line) without tearing the bars. */
  log(line: string): void;
  stop(): void;
}

const MiB = 1024 * 1024;

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < MiB) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 * MiB) return `${(n / MiB).toFixed(1)} MiB`;
  return `${(n / 1024 / MiB).toFixed(2)} GiB`;
}

/** Running totals shared by both renderers; pure, so it is easy to test. */
export class ProgressTotals {
  mode: 'direct' | 'chunked' | undefined;
  totalBytes = 0;
  totalParts = 0;
  partsDone = 0;
  bytesDone = 0;
  hashed = 0;
  commitWaits = 0;
  commitWaitedSeconds = 0;
  state = 'starting';
  readonly startedAt: number;

  constructor(now = Date.now()) {
    this.startedAt = now;
  }

  apply(u: ProgressUpdate): void {
    switch (u.kind) {
      case 'plan':
        this.mode = u.mode;
        this.totalBytes = u.totalBytes;
        this.totalParts = u.totalParts;
        break;
      case 'parts':
        this.partsDone += u.parts;
        this.bytesDone += u.bytes;
        break;
      case 'hash':
        this.hashed = Math.max(this.hashed, u.offset);
        break;
      case 'commit-wait':
        this.commitWaits = u.attempts;
        this.commitWaitedSeconds += u.seconds;
        break;
      case 'state':
        this.state = u.name;
        break;
    }
  }

  /** MiB/s of part uploads since the start. */
  rate(now = Date.now()): number {
    const seconds = Math.max((now - this.startedAt) / 1000, 0.001);
    return this.bytesDone / MiB / seconds;
  }

  line(now = Date.now()): string {
    const parts = `parts ${this.partsDone}/${this.totalParts} (${formatBytes(this.bytesDone)}/${formatBytes(this.totalBytes)}, ${this.rate(now).toFixed(1)} MiB/s)`;
    const hash = `hash ${formatBytes(this.hashed)}/${formatBytes(this.totalBytes)}`;
    const commit = this.commitWaits > 0 ? `, commit waited ${this.commitWaitedSeconds}s over ${this.commitWaits} tries` : '';
    return `[${this.state}] ${parts}, ${hash}${commit}`;
  }
}

/** Bars on a TTY; otherwise a summary line at most every `intervalMs`. `quiet` shows nothing. */
export function createProgressDisplay(opts: { stream?: NodeJS.WriteStream; quiet?: boolean; intervalMs?: number } = {}): ProgressDisplay {
  const stream = opts.stream ?? process.stderr;
  const totals = new ProgressTotals();
  if (opts.quiet) return { update: (u) => totals.apply(u), log: (line) => void stream.write(`${line}\n`), stop: () => {} };

  if (!stream.isTTY) {
    let last = 0;
    const interval = opts.intervalMs ?? 5000;
    return {
      update(u) {
        totals.apply(u);
        const now = Date.now();
        // State changes come many per second; a pipe gets a summary line every few seconds instead.
        if (u.kind !== 'state' && now - last >= interval) {
          last = now;
          stream.write(`${totals.line(now)}\n`);
        }
      },
      log(line) {
        stream.write(`${line}\n`);
      },
      stop() {
        stream.write(`${totals.line()}\n`);
      },
    };
  }

  const multi = new cliProgress.MultiBar(
    {
      stream,
      format: ' {label} [{bar}] {percentage}% | {detail}',
      hideCursor: true,
      clearOnComplete: false,
      barsize: 30,
      fps: 8,
    },
    cliProgress.Presets.shades_classic,
  );
  let upload: cliProgress.SingleBar | undefined;
  let hash: cliProgress.SingleBar | undefined;
  const status = multi.create(1, 0, { label: 'state ', detail: 'starting' }, { format: ' {label} {detail}' });

  const render = () => {
    const now = Date.now();
    upload?.update(totals.bytesDone, {
      detail: `${totals.partsDone}/${totals.totalParts} parts, ${formatBytes(totals.bytesDone)}, ${totals.rate(now).toFixed(1)} MiB/s`,
    });
    hash?.update(totals.hashed, { detail: formatBytes(totals.hashed) });
    const commit = totals.commitWaits > 0 ? ` (commit waited ${totals.commitWaitedSeconds}s)` : '';
    status.update(0, { detail: `${totals.state}${commit}` });
  };

  return {
    update(u) {
      totals.apply(u);
      if (u.kind === 'plan' && u.mode === 'chunked' && !upload) {
        const total = Math.max(u.totalBytes, 1);
        upload = multi.create(total, 0, { label: 'upload', detail: '' });
        hash = multi.create(total, 0, { label: 'sha1  ', detail: '' });
      }
      render();
    },
    log(line) {
      multi.log(`${line}\n`);
    },
    stop() {
      render();
      multi.stop();
    },
  };
}
