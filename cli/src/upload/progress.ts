/**
 * Upload progress on stderr: a cli-progress bar (bytes, rate, ETA) on a terminal; elsewhere (a pipe, CI, a log)
 * plain lines, one each 5% and at the end, that a script or a person reading the log can follow.
 */
import cliProgress from 'cli-progress';
import { formatBytes } from '../output.js';

export interface Progress {
  /** Bytes done (staged by this run or before it), and bytes this run sent (for the rate). */
  update(bytesDone: number, bytesSent: number): void;
  stop(): void;
}

const MB = 1_000_000;

function rateOf(bytes: number, startedAt: number): string {
  const seconds = Math.max(0.001, (Date.now() - startedAt) / 1000);
  return `${(bytes / MB / seconds).toFixed(1)} MB/s`;
}

export function uploadProgress(total: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  const startedAt = Date.now();
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: 'uploading [{bar}] {percentage}% | {done} of {size} | {rate} | ETA {eta_formatted}',
        hideCursor: true,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { done: formatBytes(0), size: formatBytes(total), rate: '-' });
    return {
      update: (bytesDone, bytesSent) => bar.update(bytesDone, { done: formatBytes(bytesDone), rate: rateOf(bytesSent, startedAt) }),
      stop: () => bar.stop(),
    };
  }
  let lastStep = -1;
  return {
    update: (bytesDone, bytesSent) => {
      const percent = total === 0 ? 100 : Math.floor((bytesDone / total) * 100);
      const step = Math.floor(percent / 5);
      if (step === lastStep) return;
      lastStep = step;
      stream.write(`uploaded ${percent}% (${formatBytes(bytesDone)} of ${formatBytes(total)}, ${rateOf(bytesSent, startedAt)} sent)\n`);
    },
    stop: () => undefined,
  };
}
