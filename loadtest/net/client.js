// The decoding client of the network profiles: fetches one URL over a warm keep-alive
// connection and times each exchange from the request being sent to the decoded value being
// held: JSON.parse for JSON (after streaming gunzip/brotli/zstd when the body is encoded), the
// deployed TypeScript decoder's BFastDecoder.decode for application/x-bfast.
//
//   node client.js --url URL --decoder PATH/index.js --ref JSON_FILE [--accept TYPE]
//        [--accept-encoding LIST] [--hint NAME=VALUE]... [--reps N] [--max-seconds S]
//   node client.js --can-decode    -> prints the Content-Codings this node can inflate
//
// Prints one JSON line per exchange: the first (rep 0) warms the connection and is checked
// against JSON.parse of --ref; the others are the timed repetitions.
'use strict';
const fs = require('fs');
const http = require('http');
const zlib = require('zlib');

function parse_args(argv) {
  const args = { accept: 'application/json', accept_encoding: '', hints: {}, reps: 3, max_seconds: 120 };
  for (let i = 0; i < argv.length; i++) {
    const next = () => argv[++i];
    switch (argv[i]) {
      case '--url': args.url = next(); break;
      case '--decoder': args.decoder = next(); break;
      case '--ref': args.ref = next(); break;
      case '--accept': args.accept = next(); break;
      case '--accept-encoding': args.accept_encoding = next(); break;
      case '--hint': { const h = next(); const at = h.indexOf('='); args.hints[h.slice(0, at)] = h.slice(at + 1); break; }
      case '--reps': args.reps = Number(next()); break;
      case '--max-seconds': args.max_seconds = Number(next()); break;
      default: throw new Error(`unknown argument ${argv[i]}`);
    }
  }
  if (!args.url || !args.decoder || !args.ref) throw new Error('--url, --decoder and --ref are required');
  return args;
}

const ms_since = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

function decoder_for(encoding) {
  if (encoding === 'gzip') return zlib.createGunzip();
  if (encoding === 'br') return zlib.createBrotliDecompress();
  // node 20 has none; newer nodes do, and then the kit offers zstd too.
  if (encoding === 'zstd' && typeof zlib.createZstdDecompress === 'function') return zlib.createZstdDecompress();
  return null;
}

// One exchange; resolves with its timings and the decoded value.
function exchange(args, agent, BFastDecoder, timeout_ms) {
  return new Promise((resolve, reject) => {
    const headers = { Accept: args.accept, ...args.hints };
    if (args.accept_encoding) headers['Accept-Encoding'] = args.accept_encoding;
    const req = http.request(args.url, { agent, headers });
    const t0 = process.hrtime.bigint();
    let ttfb_ms = 0;
    let wire_bytes = 0;
    let first_chunk_bytes = 0;
    req.setTimeout(timeout_ms, () => req.destroy(new Error(`no answer within ${timeout_ms} ms`)));
    req.on('error', reject);
    req.on('response', (res) => {
      ttfb_ms = ms_since(t0);
      const encoding = (res.headers['content-encoding'] || '').toLowerCase();
      const inflate = decoder_for(encoding);
      if (encoding && encoding !== 'identity' && !inflate) {
        res.resume();
        return reject(new Error(`unsupported Content-Encoding ${encoding}`));
      }
      const parts = [];
      let ttlb_ms = 0;
      const finish = () => {
        const body = Buffer.concat(parts);
        const t_decode = process.hrtime.bigint();
        const type = (res.headers['content-type'] || '').split(';')[0].trim().toLowerCase();
        const value = type === 'application/x-bfast'
          ? BFastDecoder.decode(new Uint8Array(body.buffer, body.byteOffset, body.byteLength))
          : JSON.parse(body.toString('utf8'));
        const decode_ms = ms_since(t_decode);
        resolve({
          value,
          record: {
            status: res.statusCode, ms: ms_since(t0), ttfb_ms, ttlb_ms, decode_ms, wire_bytes, first_chunk_bytes,
            decoded_bytes: body.length, content_type: type, content_encoding: encoding,
            bfast_status: res.headers['bfast-status'] || '',
          },
        });
      };
      if (inflate) {
        inflate.on('data', (c) => parts.push(c));
        inflate.on('end', () => { try { finish(); } catch (e) { reject(e); } });
        inflate.on('error', reject);
      }
      res.on('data', (c) => {
        if (wire_bytes === 0) first_chunk_bytes = c.length;
        wire_bytes += c.length;
        if (inflate) inflate.write(c); else parts.push(c);
      });
      res.on('end', () => {
        ttlb_ms = ms_since(t0);
        if (inflate) inflate.end();
        else { try { finish(); } catch (e) { reject(e); } }
      });
      res.on('error', reject);
    });
    req.end();
  });
}

async function main() {
  if (process.argv[2] === '--can-decode') {
    console.log(['gzip', 'br', 'zstd'].filter((e) => decoder_for(e)).join(', '));
    return;
  }
  const args = parse_args(process.argv.slice(2));
  const { BFastDecoder } = require(args.decoder);
  const expected = JSON.stringify(JSON.parse(fs.readFileSync(args.ref, 'utf8')));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const started = process.hrtime.bigint();
  const timeout_ms = args.max_seconds * 1000;
  for (let rep = 0; rep <= args.reps; rep++) {
    // At least the warm-up and one timed exchange; then stop when the time budget is spent.
    if (rep > 1 && ms_since(started) > timeout_ms) break;
    try {
      const { value, record } = await exchange(args, agent, BFastDecoder, timeout_ms);
      if (rep === 0) record.check = JSON.stringify(value) === expected ? 'ok' : 'mismatch';
      console.log(JSON.stringify({ rep, ...record }));
    } catch (e) {
      console.log(JSON.stringify({ rep, error: String(e.message || e).slice(0, 200) }));
      break;
    }
  }
  agent.destroy();
}

main().catch((e) => { console.error(`client: ${e.message}`); process.exit(1); });
