// Warm decode speeds of the node client (the deployed TypeScript decoder and node's own parsers),
// the numbers a client sends in `BFast-Decoder: ts; bfast=..; json=..; lz4=..; gzip=..`.
//
//   node decode_speed.js --decoder PATH/index.js --dir DIR [--payload NAME]... [--budget-ms MS]
//
// DIR holds NAME.json and, when there, NAME.none.bfast and NAME.lz4.bfast (B-FAST messages). Prints one JSON line
// per payload and speed: {client, payload, speed, bytes, ms, mbps}; MB/s = 1e6 bytes/s of
// message bytes (bfast), JSON text (json) or inflated output (lz4, gzip, zstd). lz4 is the extra
// time of the LZ4 message over the raw one, as uncompressed B-FAST bytes per second.
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

function parse_args(argv) {
  const args = { payloads: [], budget_ms: 400 };
  for (let i = 0; i < argv.length; i++) {
    const next = () => argv[++i];
    switch (argv[i]) {
      case '--decoder': args.decoder = next(); break;
      case '--dir': args.dir = next(); break;
      case '--payload': args.payloads.push(next()); break;
      case '--budget-ms': args.budget_ms = Number(next()); break;
      default: throw new Error(`unknown argument ${argv[i]}`);
    }
  }
  if (!args.decoder || !args.dir) throw new Error('--decoder and --dir are required');
  return args;
}

const now_ms = () => Number(process.hrtime.bigint()) / 1e6;

// Median ms of fn (minus base, run right after it, when given) after warming it; at least 5
// timed runs, then until the budget is spent (at most 200 runs).
function median_ms(fn, budget_ms, base) {
  const warm_until = now_ms() + budget_ms / 4;
  for (let i = 0; i < 3 || (now_ms() < warm_until && i < 50); i++) { fn(); if (base) base(); }
  const times = [];
  const stop = now_ms() + budget_ms;
  while (times.length < 5 || (now_ms() < stop && times.length < 200)) {
    const t0 = now_ms();
    fn();
    const t1 = now_ms();
    if (base) base();
    times.push(base ? 2 * (t1 - t0) - (now_ms() - t0) : t1 - t0);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

function main() {
  const args = parse_args(process.argv.slice(2));
  const { BFastDecoder } = require(path.resolve(args.decoder));
  const names = args.payloads.length ? args.payloads
    : fs.readdirSync(args.dir).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
  const has_zstd = typeof zlib.zstdDecompressSync === 'function';
  for (const name of names) {
    const file = (suffix) => fs.readFileSync(path.join(args.dir, name + suffix));
    const json = file('.json');
    // Without a proxy there are no B-FAST messages: then only the JSON speeds.
    const has_bfast = fs.existsSync(path.join(args.dir, name + '.none.bfast'));
    const u8 = (b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    const text = json.toString('utf8');
    const out = (speed, bytes, ms) => console.log(JSON.stringify({
      client: 'ts', payload: name, speed, bytes, ms: +ms.toFixed(4),
      mbps: ms > 0 ? +(bytes / ms / 1e3).toFixed(1) : null,
    }));
    if (has_bfast) {
      const raw = file('.none.bfast');
      out('bfast', raw.length, median_ms(() => BFastDecoder.decode(u8(raw)), args.budget_ms));
      if (fs.existsSync(path.join(args.dir, name + '.lz4.bfast'))) {
        const lz4 = file('.lz4.bfast');
        // One call of each per run, so the difference sees the same machine load.
        out('lz4', raw.length, median_ms(() => BFastDecoder.decode(u8(lz4)), args.budget_ms,
          () => BFastDecoder.decode(u8(raw))));
      }
    }
    out('json', json.length, median_ms(() => JSON.parse(text), args.budget_ms));
    const gz = zlib.gzipSync(json, { level: 6 });
    out('gzip', json.length, median_ms(() => zlib.gunzipSync(gz), args.budget_ms));
    if (has_zstd) {
      const zs = zlib.zstdCompressSync(json);
      out('zstd', json.length, median_ms(() => zlib.zstdDecompressSync(zs), args.budget_ms));
    }
  }
  if (!has_zstd) console.log(JSON.stringify({ client: 'ts', note: `node ${process.version} has no zstd in zlib` }));
}

main();
