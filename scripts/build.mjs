// Builds the agent into one dependency-free file that runs on Node >= 18 (the hosts' node), and prints its
// size raw and gzipped: the SSM document that carries it is limited to 64 KB.

import { chmodSync, readFileSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const outfile = 'dist/fleet-drain-agent.js';

await build({
  entryPoints: ['agent/bin.ts'],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node18',
  format: 'cjs',
  minify: true,
  legalComments: 'none',
  banner: { js: '#!/usr/bin/env node' },
  define: { __VERSION__: JSON.stringify(version) },
  logLevel: 'warning',
});
chmodSync(outfile, 0o755);

const raw = statSync(outfile).size;
const gzipped = gzipSync(readFileSync(outfile), { level: 9 }).length;
if (!process.env.QUIET_BUILD)
  console.log(`${outfile}: ${(raw / 1024).toFixed(1)} KB, ${(gzipped / 1024).toFixed(1)} KB gzipped`);
