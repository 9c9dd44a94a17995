// The JSON-lines copy of the audit log (auditLog.file, for CI artifacts): each written batch is appended
// as it is written, off the event loop (a file stream). When the file cannot be written (a full disk, a
// read-only file system, its directory gone), Node's stream fails and is closed for good; its records are
// then dropped, and the file is opened again for the first batch written at least `retryMs` after the
// failure, so that the copy resumes once the cause goes, without a restart. The operator hears it once
// per error code when the file fails, and once when it is written again, with how many records were
// dropped meanwhile.
import { createWriteStream, type WriteStream } from 'node:fs';

export interface AuditFileOptions {
  path: string;
  /** Time (ms) between a failure and the next attempt to open the file. */
  retryMs?: number;
  now?: () => number;
  /** The file cannot be written: called when this starts, and again only for another error code. */
  onFailure: (error: unknown) => void;
  /** The file is written again after onFailure; `dropped` records were lost meanwhile. */
  onRecovered: (dropped: number) => void;
}

interface Failing {
  code: string | undefined;
  at: number;
  dropped: number;
}

export class AuditFile {
  private stream: WriteStream | undefined;
  private failing: Failing | undefined;
  private closed = false;
  private readonly retryMs: number;
  private readonly now: () => number;

  constructor(private readonly options: AuditFileOptions) {
    this.retryMs = options.retryMs ?? 5_000;
    this.now = options.now ?? Date.now;
    this.stream = this.open();
  }

  /** Appends `count` records, already one JSON line each with its line end. */
  write(lines: string, count: number): void {
    if (this.closed) return;
    if (this.stream === undefined) {
      if (this.failing !== undefined && this.now() - this.failing.at < this.retryMs) {
        this.failing.dropped += count;
        return;
      }
      this.stream = this.open();
    }
    const stream = this.stream;
    stream.write(lines, (error) => {
      if (error) {
        this.failed(stream, error, count);
      } else if (this.failing !== undefined && this.stream === stream) {
        const { dropped } = this.failing;
        this.failing = undefined;
        this.options.onRecovered(dropped);
      }
    });
  }

  /** Writes what the stream holds and closes the file. */
  close(): Promise<void> {
    const stream = this.stream;
    this.stream = undefined;
    this.closed = true;
    if (stream === undefined || stream.destroyed) return Promise.resolve();
    return new Promise((done) => stream.end(done));
  }

  private open(): WriteStream {
    const stream = createWriteStream(this.options.path, { flags: 'a' });
    // Failures are told through the failed write (and an open that fails, here).
    stream.on('error', (error) => this.failed(stream, error, 0));
    return stream;
  }

  /** The stream failed (and is closed): its records are dropped until the file is opened again. */
  private failed(stream: WriteStream, error: unknown, dropped: number): void {
    const raw = (error as { code?: unknown } | null | undefined)?.code;
    const code = typeof raw === 'string' ? raw : undefined;
    // A stream that has failed fails each write still queued on it: the same failure, counted once.
    if (this.stream !== stream) {
      if (this.failing) this.failing.dropped += dropped;
      return;
    }
    this.stream = undefined;
    const previous = this.failing;
    this.failing = { code, at: this.now(), dropped: (previous?.dropped ?? 0) + dropped };
    if (previous === undefined || previous.code !== code) this.options.onFailure(error);
  }
}
