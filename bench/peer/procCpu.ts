import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * CPU time of another process, all its threads, from /proc/<pid>/stat
 * (utime + stime, fields 14 and 15, in clock ticks; the tick from
 * `getconf CLK_TCK`, 100 on Linux almost everywhere, so 10 ms resolution:
 * sum it over many requests, not one). The same method for every gateway,
 * ours and the peer, whatever runtime it is written in.
 */
const clockTickHz = ((): number => {
  try {
    const hz = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(hz) && hz > 0 ? hz : 100;
  } catch {
    return 100;
  }
})();

export const clockTick = (): number => clockTickHz;

/** utime + stime of the process in ms. */
export const processCpuMs = (pid: number): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / clockTickHz;
};
