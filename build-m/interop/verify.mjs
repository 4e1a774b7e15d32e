// verify.mjs - checks tpdiag JWS reports with the npm `jose` package, an
// implementation that shares no code with ours (RFC 7515, ES256).
//   node verify.mjs PUBKEY.pem FILE_OF_JWS_LINES
// For each line: verifies it (must pass, header must be SPEC §2's), then
// flips one byte in each of the three parts (each must fail). Prints one
// line "verified N, tampered N rejected" and exits 1 on any surprise.
import { readFileSync } from 'node:fs';
import { importSPKI, compactVerify } from 'jose';

const [pemPath, jwsPath] = process.argv.slice(2);
const key = await importSPKI(readFileSync(pemPath, 'utf8'), 'ES256');
const lines = readFileSync(jwsPath, 'utf8').split('\n').filter((l) => l.length > 0);
let ok = 0, rejected = 0, bad = 0;

function flip(jws, part) {
  const parts = jws.split('.');
  const s = parts[part];
  const i = Math.floor(s.length / 2);
  const c = s[i] === 'A' ? 'B' : 'A';
  parts[part] = s.slice(0, i) + c + s.slice(i + 1);
  return parts.join('.');
}

for (const jws of lines) {
  try {
    const { payload, protectedHeader } = await compactVerify(jws, key);
    const body = JSON.parse(new TextDecoder().decode(payload));
    if (protectedHeader.alg !== 'ES256' || protectedHeader.typ !== 'tp-report' ||
        protectedHeader.kid !== body.dev) {
      console.error(`header ${JSON.stringify(protectedHeader)} does not match SPEC §2`);
      bad++;
    } else {
      ok++;
    }
  } catch (e) {
    console.error(`a genuine report failed: ${e.code || e.message}`);
    bad++;
  }
  for (const part of [0, 1, 2]) {
    try {
      await compactVerify(flip(jws, part), key);
      console.error(`a report with part ${part} altered still verified`);
      bad++;
    } catch {
      rejected++;
    }
  }
}
console.log(`verified ${ok}, tampered ${rejected} rejected`);
process.exit(bad === 0 && ok > 0 ? 0 : 1);
