// Stops the emulator when the npm process that launched it goes away. `npx kv-emulator start &` (and
// `npm start &`) run the command as npm -> sh -c -> node: the shell's $! is npm's pid, and killing it
// ends npm (which takes its `sh` along) but not the emulator, which would keep its ports, re-parented to
// init. So an emulator started through npm looks, once a second, at the processes between it and npm:
// its parent, and when that parent is a shell, the shell's parent (npm itself, whose SIGKILL the shell
// survives), as they were when it started. When one of them has gone, it stops as on SIGTERM.
// Started any other way (the installed binary, the image, `node dist/cli.mjs`) nothing is watched: there
// the shell's $! is the emulator itself, and a parent that exits on purpose (`nohup ... &`, a subshell
// that backgrounds it) must not take the emulator down.
import { readFileSync } from 'node:fs';
import { launchedThroughNpm } from './invocation.js';

export interface LauncherWatchOptions {
  /** From launcherLineage, read when the process started. */
  lineage: Lineage | undefined;
  /** Called once, with the pid of the process that went away. */
  onGone: (pid: number) => void;
  intervalMs?: number;
}

const SHELLS = new Set(['sh', 'dash', 'bash', 'zsh', 'ash', 'ksh', 'busybox']);

/** Linux: a process's command name and parent, from /proc; undefined elsewhere or once it is gone. */
function describe(pid: number): { comm: string; ppid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state ppid ...; comm may itself hold spaces and parentheses.
    const open = stat.indexOf('(');
    const close = stat.lastIndexOf(')');
    const ppid = Number(stat.slice(close + 2).split(' ')[1]);
    return { comm: stat.slice(open + 1, close), ppid };
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as { code?: string }).code === 'EPERM';
  }
}

/** The processes between this one and npm, as they were when it started. */
export interface Lineage {
  parent: number;
  /** npm's own pid when the parent is the shell npm ran the command in. */
  grandparent?: number;
}

/**
 * The lineage to watch, read as early as the process can: undefined when not launched through npm. Read
 * later (once listening), a launcher killed in between would already have re-parented the emulator, and
 * the watch would look at init instead.
 */
export function launcherLineage(env: NodeJS.ProcessEnv): Lineage | undefined {
  if (!launchedThroughNpm(env)) return undefined;
  const parent = process.ppid;
  const parentInfo = describe(parent);
  const grandparent = parentInfo && SHELLS.has(parentInfo.comm) && parentInfo.ppid > 1 ? parentInfo.ppid : undefined;
  return { parent, grandparent };
}

/** The pid of the first process in the lineage that has gone, or undefined while all are there. */
export function goneFrom({ parent, grandparent }: Lineage): number | undefined {
  if (process.ppid !== parent || !alive(parent)) return parent;
  if (grandparent !== undefined && (!alive(grandparent) || describe(parent)?.ppid !== grandparent)) return grandparent;
  return undefined;
}

/**
 * Starts watching the lineage read at start (nothing when there is none): looks at once, then every
 * interval. Returns a function that stops watching.
 */
export function watchLauncher(options: LauncherWatchOptions): () => void {
  const { lineage } = options;
  if (!lineage) return () => undefined;
  const now = goneFrom(lineage);
  if (now !== undefined) {
    options.onGone(now);
    return () => undefined;
  }
  const timer = setInterval(() => {
    const gone = goneFrom(lineage);
    if (gone === undefined) return;
    clearInterval(timer);
    options.onGone(gone);
  }, options.intervalMs ?? 1000);
  timer.unref();
  return () => clearInterval(timer);
}
