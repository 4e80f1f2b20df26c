// Delaying TCP relay: the latency half of a network profile (netem is not available).
// Every chunk is held for --delay-ms in each direction before it is passed on, so one
// request/response exchange costs one extra RTT of 2 × delay. Bandwidth is shaped by tc on
// the link in front of the relay, not here.
//
//   node relay.js --delay-ms D --max-seconds S LISTEN_HOST:PORT=TARGET_HOST:PORT ...
//
// It prints "ready" once every listener is bound and exits after --max-seconds at the latest.
'use strict';
const net = require('net');

function parse_args(argv) {
  const args = { delay_ms: 0, max_seconds: 3600, routes: [] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--delay-ms') args.delay_ms = Number(argv[++i]);
    else if (argv[i] === '--max-seconds') args.max_seconds = Number(argv[++i]);
    else {
      const m = /^([\d.]+):(\d+)=([\d.]+):(\d+)$/.exec(argv[i]);
      if (!m) throw new Error(`bad route ${argv[i]}`);
      args.routes.push({ host: m[1], port: +m[2], target_host: m[3], target_port: +m[4] });
    }
  }
  if (!(args.delay_ms >= 0) || args.routes.length === 0) throw new Error('usage: relay.js --delay-ms D ROUTE...');
  return args;
}

// A FIFO of chunks, each released to `sink` once its due time has passed; one timer at most.
function delayed_pipe(sink, delay_ms) {
  const queue = [];
  let timer = null;
  let ended = false;
  function flush() {
    timer = null;
    const now = performance.now();
    while (queue.length && queue[0].due <= now) {
      const item = queue.shift();
      if (sink.destroyed) return;
      if (item.chunk === null) sink.end(); else sink.write(item.chunk);
    }
    if (queue.length) timer = setTimeout(flush, queue[0].due - now);
  }
  function push(chunk) {
    if (ended) return;
    if (chunk === null) ended = true;
    queue.push({ due: performance.now() + delay_ms, chunk });
    if (delay_ms === 0) return flush();
    if (!timer) timer = setTimeout(flush, delay_ms);
  }
  return { write: (c) => push(c), end: () => push(null) };
}

function relay(client, route, delay_ms) {
  const upstream = net.connect(route.target_port, route.target_host);
  client.setNoDelay(true);
  upstream.setNoDelay(true);
  const to_upstream = delayed_pipe(upstream, delay_ms);
  const to_client = delayed_pipe(client, delay_ms);
  client.on('data', (c) => to_upstream.write(c));
  client.on('end', () => to_upstream.end());
  upstream.on('data', (c) => to_client.write(c));
  upstream.on('end', () => to_client.end());
  const close = () => { client.destroy(); upstream.destroy(); };
  client.on('error', close);
  upstream.on('error', close);
  // A finished upstream ends the client through the queue (its unsent bytes still drain);
  // a client that went away has nobody left to deliver to.
  client.on('close', () => upstream.destroy());
}

function main() {
  const args = parse_args(process.argv.slice(2));
  let pending = args.routes.length;
  for (const route of args.routes) {
    const server = net.createServer((client) => relay(client, route, args.delay_ms));
    server.on('error', (e) => { console.error(`relay: ${route.host}:${route.port}: ${e.message}`); process.exit(1); });
    server.listen(route.port, route.host, () => { if (--pending === 0) console.log('ready'); });
  }
  setTimeout(() => process.exit(0), args.max_seconds * 1000);
}

main();
