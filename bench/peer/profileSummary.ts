import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * What a V8 CPU profile (.cpuprofile, as `node --cpu-prof` writes) spends its
 * time on: self time by area (socket writes, the ws library, SDK/undici SSE
 * parsing, GC, the store, io-ts, hashing, ...), by file or package, and by
 * function. `lastMs` keeps only the samples of the profile's last N ms (the
 * measured load, not the start-up). Idle samples are left out of the shares.
 *
 * Run: node --import ./test/support/swcRegister.mjs bench/peer/profileSummary.ts FILE.cpuprofile [--top 20] [--last-ms N]
 */
type CallFrame = { functionName: string; url: string; lineNumber: number };
type ProfileNode = { id: number; callFrame: CallFrame };
type CpuProfile = { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] };

const root = `${process.cwd()}/`;

const packageOf = (url: string): string | undefined => {
  const at = url.lastIndexOf('/node_modules/');
  if (at < 0) return undefined;
  const parts = url.slice(at + '/node_modules/'.length).split('/');
  return parts[0]?.startsWith('@') === true ? `${parts[0]}/${parts[1]}` : parts[0];
};

/** File or package a frame belongs to: `ws`, `node:net`, `adapters/ws/server.ts`, `(native)`. */
export const placeOf = (url: string): string => {
  if (url === '') return '(native / VM)';
  const pkg = packageOf(url);
  if (pkg !== undefined) return pkg;
  const path = url.replace(/^file:\/\//, '');
  return path.startsWith(root) ? path.slice(root.length) : path;
};

const SOCKET = /^(writev|writeBuffer|writeUtf8String|writeLatin1String|writeAsciiString|writeUcs2String|writeGeneric|_writeGeneric|_writev|doWrite|onStreamRead|readStart|cork|uncork)$/;
const HASH = /^(digest|update|createHash|randomUUID|randomBytes|timingSafeEqual|sign|verify|hmac)$/;

/** The area a frame's self time is charged to. */
export const areaOf = ({ functionName: fn, url }: CallFrame): string => {
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(idle)') return 'idle';
  if (fn === '(program)') return 'V8 / native, unattributed (program)';
  const place = placeOf(url);
  if (url === '' && SOCKET.test(fn)) return 'socket reads and writes (syscalls, stream glue)';
  if (url === '' && HASH.test(fn)) return 'hashing, ids, JWT (crypto)';
  if (url === '' && (fn === 'stringify' || fn === 'parse')) return 'JSON (native parse/stringify)';
  if (place === 'ws') return 'ws library (frames, masking, events)';
  if (place === 'openai' || place.includes('undici') || url.includes('internal/deps/undici')) return 'openai SDK + undici (HTTP client, SSE parsing)';
  if (url.startsWith('node:internal/webstreams') || url.startsWith('node:internal/encoding')) return 'web streams, TextDecoder (SDK side)';
  if (/^node:(net|stream|internal\/stream_base_commons|internal\/streams|internal\/net|_http|internal\/http)/.test(url) || url.startsWith('node:http')) return 'socket reads and writes (syscalls, stream glue)';
  if (place === 'io-ts' || place === 'fp-ts') return 'io-ts / fp-ts (decoding, Either)';
  if (place === 'better-sqlite3' || place.startsWith('adapters/eventstore')) return 'event store (main-thread side)';
  if (place === 'jose' || url.startsWith('node:internal/crypto') || url.startsWith('node:crypto')) return 'hashing, ids, JWT (crypto)';
  if (place === 'pino' || place.startsWith('pino-') || place === 'sonic-boom') return 'logging (pino)';
  if (place === 'gpt-tokenizer' || place.startsWith('adapters/llm/tokenizer')) return 'tokenizer';
  if (/^(adapters|application|domain)\//.test(place)) return `our code: ${place.split('/').slice(0, 2).join('/')}`;
  if (/^node:(internal\/)?(async_hooks|abort_controller|event_target|worker\/js_transferable|per_context\/domexception)/.test(url)) return 'async_hooks, AbortController, DOMException (per-request context, cancellation)';
  if (url.startsWith('node:')) return 'Node internals (timers, events, promises, IPC)';
  if (url === '') return 'native builtins (other)';
  return `package ${place}`;
};

type Row = { key: string; ms: number };
const top = (m: Map<string, number>, n: number): Row[] =>
  [...m.entries()]
    .map(([key, ms]) => ({ key, ms }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, n);
const add = (m: Map<string, number>, key: string, ms: number) => m.set(key, (m.get(key) ?? 0) + ms);

/** Self time (ms) per area, place and function over the samples in the window. */
export const selfTimes = (profile: CpuProfile, lastMs = Infinity) => {
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const areas = new Map<string, number>();
  const places = new Map<string, number>();
  const functions = new Map<string, number>();
  let t = profile.startTime;
  const from = profile.endTime - lastMs * 1000;
  let busyMs = 0;
  let idleMs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    // A sample stands for the time until the next one.
    const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    const frame = byId.get(profile.samples[i] as number);
    if (t < from || frame === undefined) continue;
    const area = areaOf(frame);
    if (area === 'idle') {
      idleMs += ms;
      continue;
    }
    busyMs += ms;
    add(areas, area, ms);
    add(places, placeOf(frame.url), ms);
    const where = frame.url === '' ? '' : ` (${placeOf(frame.url)}:${frame.lineNumber + 1})`;
    add(functions, `${frame.functionName || '(anonymous)'}${where}`, ms);
  }
  return { busyMs, idleMs, areas, places, functions };
};

/** The summary as markdown tables. */
export const summarize = (profile: CpuProfile, n = 20, lastMs = Infinity): string => {
  const s = selfTimes(profile, lastMs);
  const pct = (ms: number) => `${((100 * ms) / s.busyMs).toFixed(1)} %`;
  const table = (title: string, rows: Row[]) => [`| ${title} | self ms | share of busy |`, '|---|---|---|', ...rows.map((r) => `| ${r.key.replace(/\|/g, '\\|')} | ${r.ms.toFixed(0)} | ${pct(r.ms)} |`)];
  return [
    `Main thread, ${(s.busyMs + s.idleMs).toFixed(0)} ms profiled: ${s.busyMs.toFixed(0)} ms busy, ${s.idleMs.toFixed(0)} ms idle.`,
    '',
    ...table('area', top(s.areas, 30)),
    '',
    ...table(`file or package (top ${n})`, top(s.places, n)),
    '',
    ...table(`function (top ${n})`, top(s.functions, n)),
  ].join('\n');
};

export const readProfile = (file: string): CpuProfile => JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;

/** The main-thread profile that `node --cpu-prof` wrote in `dir` for process `pid`. */
export const mainThreadProfile = (dir: string, pid: number): string => {
  const name = readdirSync(dir).find((f) => f.endsWith('.cpuprofile') && f.includes(`.${pid}.0.`));
  if (name === undefined) throw new Error(`no main-thread .cpuprofile of pid ${pid} in ${dir}`);
  return join(dir, name);
};

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const opt = (name: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : undefined;
  };
  const file = args[0];
  if (file === undefined) throw new Error('usage: profileSummary.ts FILE.cpuprofile [--top 20] [--last-ms N]');
  process.stdout.write(`${summarize(readProfile(file), opt('top') ?? 20, opt('last-ms') ?? Infinity)}\n`);
}
