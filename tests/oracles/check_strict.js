// ../shared/oracles/check.js, stricter: numbers compare with Object.is (so -0 is not +0) and
// object keys must come in the same order. The TypeScript decoder is the deployed one, read from
// BFAST_SHARED_DIR (default: ../shared beside the repository).
// Usage: node check_strict.js JSON_FILE BFAST_FILE  -> 'ok', 'mismatch: ...' or 'error: ...'
const fs = require('fs');
const path = require('path');

const shared = process.env.BFAST_SHARED_DIR || path.join(__dirname, '..', '..', '..', 'shared');
const { BFastDecoder } = require(path.join(shared, 'oracles', 'bfast-client', 'dist', 'index.js'));

function show(v) {
  return Object.is(v, -0) ? '-0' : String(JSON.stringify(v)).slice(0, 80);
}

function same(a, b, p) {
  if (typeof a === 'number' || typeof b === 'number') {
    return typeof a === typeof b && Object.is(a, b) ? null : `${p}: ${show(a)} != ${show(b)}`;
  }
  if (a === null || typeof a !== 'object') return a === b ? null : `${p}: ${show(a)} != ${show(b)}`;
  if (Array.isArray(a)) {
    if (!Array.isArray(b)) return `${p}: array vs ${typeof b}`;
    if (a.length !== b.length) return `${p}: length ${a.length} vs ${b.length}`;
    for (let i = 0; i < a.length; i++) {
      const r = same(a[i], b[i], `${p}[${i}]`);
      if (r) return r;
    }
    return null;
  }
  if (b === null || typeof b !== 'object' || Array.isArray(b)) return `${p}: object vs ${typeof b}`;
  if (Object.getPrototypeOf(b) !== Object.prototype) return `${p}: prototype changed`;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  for (let i = 0; i < Math.max(ka.length, kb.length); i++) {
    if (ka[i] !== kb[i]) return `${p}: key ${i} is ${show(ka[i])} vs ${show(kb[i])}`;
  }
  for (const k of ka) {
    const r = same(a[k], b[k], `${p}.${k}`);
    if (r) return r;
  }
  return null;
}

const expected = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const buf = fs.readFileSync(process.argv[3]);
let got;
try {
  got = BFastDecoder.decode(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength));
} catch (e) {
  console.log('error: ' + e.message.slice(0, 120));
  process.exit(1);
}
const r = same(expected, got, '$');
if (r) {
  console.log('mismatch: ' + r.slice(0, 200));
  process.exit(1);
}
console.log('ok');
