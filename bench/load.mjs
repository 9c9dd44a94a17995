// The load generator, always run in its own process (bench/lib.mjs runLoad) so it never shares an event
// loop with the server it measures. Reads one JSON spec on stdin, prints one JSON result on stdout.
//   mode "autocannon": autocannon against one path (or a rotating path template), at full speed or at a
//     fixed overall rate; latencies are kept as exact milliseconds (autocannon's own histogram rounds to
//     whole milliseconds).
//   mode "sequential": one keep-alive connection per target, one request at a time, alternating between
//     targets, for service-time latency: "get-random" reads random secrets of a set, "pages" follows
//     nextLink through the whole list, "fixed" sends each target's own request (method, path or
//     pathTemplate, body) again and again.
//   mode "paced": open-loop requests at a fixed rate (see runPaced).
import autocannon from 'autocannon';
import { Agent, request as httpsRequest } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { percentile } from './lib.mjs';

const spec = JSON.parse(await new Promise((done) => {
  let text = '';
  process.stdin.on('data', (c) => (text += c));
  process.stdin.on('end', () => done(text));
}));

function summary(latencies) {
  const mean = latencies.reduce((a, b) => a + b, 0) / (latencies.length || 1);
  return { count: latencies.length, mean, p50: percentile(latencies, 50), p90: percentile(latencies, 90), p99: percentile(latencies, 99), max: percentile(latencies, 100) };
}

async function runAutocannon() {
  const { origin, headers = {}, method = 'GET', path, pathTemplate, modulo = 1000, body, connections = 10, duration = 5, overallRate, warmupSeconds = 1 } = spec;
  const url = new URL(origin);
  let counter = 0;
  const options = {
    url: origin,
    hostname: url.hostname,
    connections,
    pipelining: 1,
    duration,
    ...(overallRate && { overallRate }),
    method,
    headers: { ...headers, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
    requests: [
      {
        setupRequest: (request) => ({ ...request, path: pathTemplate ? pathTemplate.replaceAll('{i}', String(counter++ % modulo)) : path }),
      },
    ],
  };
  if (warmupSeconds > 0) await autocannon({ ...options, duration: warmupSeconds, overallRate: undefined });
  const latencies = [];
  const statuses = {};
  const instance = autocannon(options);
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
    if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
  });
  const result = await instance;
  return {
    rps: result.requests.average,
    total: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statuses,
    latency: summary(latencies),
  };
}

/**
 * One request at a time per target, alternating between the targets request by request, so that what
 * else the machine is doing weighs on every target alike (a ratio between targets stays meaningful on a
 * busy machine even when the absolute latencies do not).
 */
async function runSequential() {
  const { targets, kind, durationMs = 3000 } = spec;
  const states = targets.map((t) => ({
    ...t,
    agent: new Agent({ keepAlive: true, maxSockets: 1, ca: t.ca }),
    latencies: [],
    statuses: {},
    next: t.firstPath,
    pagesFollowed: 0,
  }));
  let counter = 0;
  const get = (state, path) =>
    new Promise((done, fail) => {
      const payload = kind === 'fixed' && state.body !== undefined ? JSON.stringify(state.body) : undefined;
      const headers = payload === undefined ? state.headers : { ...state.headers, 'content-type': 'application/json' };
      const started = process.hrtime.bigint();
      const req = httpsRequest(new URL(path, state.origin), { method: (kind === 'fixed' && state.method) || 'GET', agent: state.agent, headers, ca: state.ca }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => done({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8'), ms: Number(process.hrtime.bigint() - started) / 1e6 }));
      });
      req.on('error', fail);
      req.end(payload);
    });
  const pathFor = (state) => {
    if (kind === 'get-random') return `/secrets/${state.prefix}${Math.floor(Math.random() * state.total)}?api-version=7.6`;
    if (kind === 'fixed') return state.pathTemplate ? state.pathTemplate.replaceAll('{i}', String(counter++ % (state.modulo ?? 1000))) : state.path;
    return state.next;
  };
  const step = async (state, record) => {
    const res = await get(state, pathFor(state));
    if (record) {
      state.statuses[res.status] = (state.statuses[res.status] ?? 0) + 1;
      if (res.status === 200) state.latencies.push(res.ms);
    }
    if (kind === 'pages') {
      const link = res.status === 200 ? JSON.parse(res.body).nextLink : null;
      state.next = link ? new URL(link).pathname + new URL(link).search : state.firstPath;
      if (link && record) state.pagesFollowed += 1;
    }
  };
  // Warm the connections and the JIT before measuring.
  for (let i = 0; i < 200; i++) for (const state of states) await step(state, false);
  const deadline = performance.now() + durationMs;
  // Each round starts one target further along, so that no target always follows the same other one.
  for (let round = 0; performance.now() < deadline; round++) {
    for (let k = 0; k < states.length; k++) await step(states[(round + k) % states.length], true);
  }
  for (const state of states) state.agent.destroy();
  return states.map((state) => ({ statuses: state.statuses, latency: summary(state.latencies), ...(kind === 'pages' && { pagesFollowed: state.pagesFollowed }) }));
}

/**
 * Open-loop load at a fixed rate: requests fall due on a schedule (checked every millisecond) whatever
 * the answers, and each latency counts from the moment its request was due, so waiting for a free
 * connection counts too. autocannon's own rate limit cannot serve here: it lets each connection send its
 * whole second's quota back to back, then idle, so a "half rate" run is bursts at full speed. The client
 * is a minimal HTTP/1.1 one over raw TLS sockets (prebuilt request bytes, content-length framing), light
 * enough for one process to pace thousands of requests a second without delaying them itself.
 */
async function runPaced() {
  const { origin, ca, headers = {}, method = 'GET', path, pathTemplate, modulo = 1000, body, rate, duration = 5, connections = 32 } = spec;
  const url = new URL(origin);
  const payload = body === undefined ? '' : JSON.stringify(body);
  const head = Object.entries({ host: url.host, ...headers, ...(payload && { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }) })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  let counter = 0;
  const requestBytes = () => {
    const requestPath = pathTemplate ? pathTemplate.replaceAll('{i}', String(counter++ % modulo)) : path;
    return Buffer.from(`${method} ${requestPath} HTTP/1.1\r\n${head}\r\n${payload}`);
  };
  const latencies = [];
  const statuses = {};
  const due = [];
  let sent = 0;
  let done = 0;
  let errors = 0;
  const idle = [];
  const open = (slot) =>
    new Promise((ready) => {
      const socket = tlsConnect({ host: url.hostname, port: Number(url.port), ca, servername: 'localhost' });
      let buffer = Buffer.alloc(0);
      let current;
      socket.on('data', (chunk) => {
        buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
        for (;;) {
          const end = buffer.indexOf('\r\n\r\n');
          if (end < 0 || !current) return;
          const text = buffer.subarray(0, end).toString('latin1');
          const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(text)?.[1] ?? 0);
          if (buffer.length < end + 4 + length) return;
          buffer = buffer.subarray(end + 4 + length);
          const status = Number(text.slice(9, 12));
          statuses[status] = (statuses[status] ?? 0) + 1;
          if (current.record && status >= 200 && status < 300) latencies.push(performance.now() - current.dueAt);
          done += 1;
          current = undefined;
          next(slot);
        }
      });
      socket.on('error', () => {
        errors += 1;
      });
      socket.once('secureConnect', () => ready());
      slot.send = (job) => {
        current = job;
        socket.write(requestBytes());
      };
      slot.close = () => socket.destroy();
    });
  const next = (slot) => {
    const job = due.shift();
    if (job) slot.send(job);
    else idle.push(slot);
  };
  const slots = Array.from({ length: connections }, () => ({}));
  await Promise.all(slots.map(open));
  idle.push(...slots);
  // The first second warms up (JIT, caches); it is not counted.
  const start = performance.now() + 10;
  const measureFrom = start + 1000;
  const end = measureFrom + duration * 1000;
  await new Promise((finish) => {
    const timer = setInterval(() => {
      const now = performance.now();
      const owed = Math.floor((Math.min(now, end) - start) * (rate / 1000));
      while (sent < owed) {
        const dueAt = start + (sent++ * 1000) / rate;
        due.push({ dueAt, record: dueAt >= measureFrom });
        const slot = idle.pop();
        if (slot) next(slot);
      }
      if (now >= end && done + errors >= sent) {
        clearInterval(timer);
        finish();
      }
    }, 1);
  });
  for (const slot of slots) slot.close();
  const non2xx = Object.entries(statuses).filter(([status]) => status < 200 || status >= 300).reduce((n, [, c]) => n + c, 0);
  return { rps: latencies.length / duration, total: done, errors, non2xx, statuses, latency: summary(latencies) };
}

const result = spec.mode === 'sequential' ? await runSequential() : spec.mode === 'paced' ? await runPaced() : await runAutocannon();
process.stdout.write(JSON.stringify(result));
