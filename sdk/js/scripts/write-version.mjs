// Writes src/version.ts from package.json's "version", the one place the JS SDK's version is
// kept. The build runs it before tsc (and `npm pack` through prepack), the typecheck too, so
// src/version.ts is generated and never edited by hand. It rewrites the file only when its
// text changes, so scripts/ensure-built does not see a newer source after every run.
import { readFileSync, writeFileSync } from 'node:fs';

const root = new URL('../', import.meta.url);
const { version } = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
if (typeof version !== 'string' || !/^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/.test(version)) {
  console.error(`sdk/js: package.json has no valid semver "version": ${JSON.stringify(version)}`);
  process.exit(1);
}
const text =
  '// Generated from package.json by scripts/write-version.mjs (run by the build); do not edit.\n' +
  `export const VERSION = '${version}';\n`;
const target = new URL('src/version.ts', root);
let current = null;
try {
  current = readFileSync(target, 'utf8');
} catch (err) {
  if (err.code !== 'ENOENT') throw err;
}
if (current !== text) writeFileSync(target, text);
