// Each request's logger (request.log), made only when something is logged. Fastify makes a child of
// the app's logger for every request, binding its id (pino: a new object and its bindings serialized),
// and logs "incoming request" and "request completed" at info; at the CLI's default level (warn) nothing
// of a successful request is ever logged, yet making the child cost more than an authenticated get's
// whole token check. This logger stands in for the child: a call at a level the app's logger has off
// returns at once, and the first call at a level it has on makes the child, as Fastify would have.
import type { FastifyBaseLogger, FastifyServerOptions } from 'fastify';

type Bindings = Record<string, unknown>;
type ChildOptions = Parameters<FastifyBaseLogger['child']>[1];
type LogFn = FastifyBaseLogger['info'];
type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/** pino's isLevelEnabled; a logger without it is taken to log everything. */
function enabled(logger: FastifyBaseLogger, level: string): boolean {
  const check = (logger as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled;
  return typeof check === 'function' ? check.call(logger, level) : true;
}

class LazyRequestLogger {
  private made: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildOptions,
  ) {}

  private real(): FastifyBaseLogger {
    return (this.made ??= this.parent.child(this.bindings, this.options));
  }

  private at(level: Level, args: unknown[]): void {
    if (this.made === undefined && !enabled(this.parent, level)) return;
    (this.real()[level] as (...a: unknown[]) => void)(...args);
  }

  get level(): string {
    return this.made?.level ?? this.parent.level;
  }

  set level(level: string) {
    this.real().level = level;
  }

  isLevelEnabled(level: string): boolean {
    return enabled(this.made ?? this.parent, level);
  }

  child(bindings: Bindings, options?: ChildOptions): FastifyBaseLogger {
    return this.real().child(bindings, options);
  }

  silent(): void {}

  fatal(...args: unknown[]): void {
    this.at('fatal', args);
  }

  error(...args: unknown[]): void {
    this.at('error', args);
  }

  warn(...args: unknown[]): void {
    this.at('warn', args);
  }

  info(...args: unknown[]): void {
    this.at('info', args);
  }

  debug(...args: unknown[]): void {
    this.at('debug', args);
  }

  trace(...args: unknown[]): void {
    this.at('trace', args);
  }
}

/** Fastify's `childLoggerFactory`: a request logger that makes its pino child on first use. */
export const lazyChildLoggerFactory: NonNullable<FastifyServerOptions['childLoggerFactory']> = function (logger, bindings, options) {
  return new LazyRequestLogger(logger, bindings, options) as unknown as FastifyBaseLogger & { info: LogFn };
};
