// Builds the agent into one dependency-free file that runs on Node >= 18 (the hosts' node), and prints its
// size raw and gzipped: the SSM document that carries it is limited to 64 KB. Then builds what the CDK
// construct ships prebuilt, so that it synthesizes in a consumer's app without esbuild, Docker or our
// TypeScript sources: the drainer Lambda (dist/lambda/index.js, the SDK clients bundled in) and the
// construct library itself (dist/lib/index.js, declarations under dist/types).

import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { dirname } from 'node:path';
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

// Several people and test runs build in this tree at once: each output below is written under a scratch
// name and renamed into place, so a reader never finds it missing or half-written.
const quiet = Boolean(process.env.QUIET_BUILD);
const scratch = `dist/.build-${process.pid}`;
const moveIntoPlace = (from, to) => {
  mkdirSync(dirname(to), { recursive: true });
  renameSync(from, to);
};

// The drainer Lambda: the asset directory holds this one file only (Code.fromAsset('dist/lambda')).
try {
  await build({
    entryPoints: ['lambda/handler.ts'],
    outfile: `${scratch}/lambda/index.js`,
    bundle: true,
    platform: 'node',
    // The Lambda runtime (nodejs22.x); the SDK clients are bundled, not the runtime's own copy.
    target: 'node22',
    // ESM builds of the SDK tree-shake far better (≈340 KB instead of ≈790 KB).
    mainFields: ['module', 'main'],
    // Lambda always hands the role's credentials over in the environment: the SDK's whole default chain
    // (SSO, INI files, IMDS, process) would only add weight and cold-start time.
    alias: { '@aws-sdk/credential-provider-node': './lambda/aws/env-credentials.ts' },
    format: 'cjs',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  moveIntoPlace(`${scratch}/lambda/index.js`, 'dist/lambda/index.js');
  if (!quiet)
    console.log(`dist/lambda/index.js: ${(statSync('dist/lambda/index.js').size / 1024).toFixed(1)} KB`);

  // The construct library: one CommonJS file; aws-cdk-lib, constructs and the other packages stay external.
  // Declarations come from tsc (the slow part): skipped when they are newer than every source they cover.
  const newestSource = Math.max(
    ...['lib', 'common', 'agent', 'lambda'].flatMap((dir) =>
      readdirSync(dir, { recursive: true })
        .filter((file) => String(file).endsWith('.ts'))
        .map((file) => statSync(`${dir}/${file}`).mtimeMs),
    ),
  );
  const libOutputs = ['dist/lib/index.js', 'dist/types/lib/index.d.ts'];
  const libFresh =
    libOutputs.every((file) => existsSync(file)) &&
    Math.min(...libOutputs.map((file) => statSync(file).mtimeMs)) > newestSource;
  if (!process.env.SKIP_LIB_BUILD && !libFresh) {
    await build({
      entryPoints: ['lib/index.ts'],
      outfile: `${scratch}/lib/index.js`,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      // Only the peer dependencies stay outside; anything else the library reaches is bundled, so a
      // consumer needs nothing but aws-cdk-lib and constructs.
      external: ['aws-cdk-lib', 'aws-cdk-lib/*', 'constructs'],
      logLevel: 'warning',
    });
    try {
      execFileSync(
        process.execPath,
        ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json', '--outDir', `${scratch}/types`],
        { stdio: 'inherit' },
      );
    } catch (error) {
      // tsc still wrote the declarations. The test setup (QUIET_BUILD) goes on, so that someone's half-done
      // edit elsewhere does not stop every test; `npm run build` fails.
      if (!quiet) throw error;
      console.warn(
        'scripts/build.mjs: type errors in the construct library (see above); declarations written anyway',
      );
    }
    moveIntoPlace(`${scratch}/lib/index.js`, 'dist/lib/index.js');
    // A folder cannot be replaced by one rename: swap the old one out and the new one in.
    if (existsSync('dist/types')) renameSync('dist/types', `${scratch}/old-types`);
    renameSync(`${scratch}/types`, 'dist/types');
    if (!quiet) console.log('dist/lib/index.js, dist/types/lib/index.d.ts');
  }

  // The `fleet-drainer` command (`drill`): runs from a clone and from the installed package alike, so it
  // bundles what it needs (the SDK clients, Powertools) and leaves out only the peer dependencies that a CDK
  // app has. It finds the twin's demo worker and the Lambda bundle relative to import.meta.url, which a
  // CommonJS bundle takes from its own file name (dist/ sits as deep as twin/).
  await build({
    entryPoints: ['twin/cli.ts'],
    outfile: `${scratch}/fleet-drainer.js`,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: ['aws-cdk-lib', 'aws-cdk-lib/*', 'constructs'],
    // ESM builds of the SDK tree-shake far better, as for the Lambda; minified to keep the package small,
    // with the functions' names kept for the stack trace of a crash.
    mainFields: ['module', 'main'],
    minify: true,
    keepNames: true,
    legalComments: 'none',
    banner: {
      js: '#!/usr/bin/env node\nconst __importMetaUrl = require("node:url").pathToFileURL(__filename).href;',
    },
    define: { 'import.meta.url': '__importMetaUrl' },
    logLevel: 'warning',
  });
  moveIntoPlace(`${scratch}/fleet-drainer.js`, 'dist/fleet-drainer.js');
  chmodSync('dist/fleet-drainer.js', 0o755);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
