/**
 * Upload progress on stderr: a cli-progress bar (bytes, rate, ETA) on a terminal; elsewhere (a pipe, CI, a log)
 * plain lines, one each 5% and at the end, that a script or a person reading the log can follow.
 */
import cliProgress from 'cli-progress';
import { formatBytes } from '../output.js';

export interface Progress {
  update(bytesDone: number): void;
  stop(): void;
}

const MB = 1_000_000;

function rateOf(bytes: number, startedAt: number): string {
  const seconds = Math.max(0.001, (Date.now() - startedAt) / 1000);
  return `${(bytes / MB / seconds).toFixed(1)} MB/s`;
}

export function uploadProgress(total: number, resumedBytes: number, stream: NodeJS.WriteStream = process.stderr): Progress {
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
    bar.start(total, resumedBytes, { done: formatBytes(resumedBytes), size: formatBytes(total), rate: '-' });
    return {
      update: (bytesDone) =>
        bar.update(bytesDone, { done: formatBytes(bytesDone), rate: rateOf(bytesDone - resumedBytes, startedAt) }),
      stop: () => bar.stop(),
    };
  }
  let lastStep = -1;
  return {
    update: (bytesDone) => {
      const percent = total === 0 ? 100 : Math.floor((bytesDone / total) * 100);
      const step = Math.floor(percent / 5);
      if (step === lastStep) return;
      lastStep = step;
      stream.write(`uploaded ${percent}% (${formatBytes(bytesDone)} of ${formatBytes(total)}, ${rateOf(bytesDone - resumedBytes, startedAt)})\n`);
    },
    stop: () => undefined,
  };
}
