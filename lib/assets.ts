// Finds the prebuilt files the construct ships (`npm run build`): the agent bundle the SSM document carries
// and the drainer Lambda's asset directory. The same code runs from the sources (lib/*.ts) and from the
// package's bundle (dist/lib/index.js), so it walks up to the package root instead of assuming a depth.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const PACKAGE_NAME = 'fleet-drainer';

/** A prebuilt file is missing: the package was not built. */
export class MissingBuildError extends Error {
  constructor(path: string) {
    super(
      `fleet-drainer: ${path} is missing. Run \`npm run build\` in the fleet-drainer package first: the ` +
        'construct ships the drain agent and the drainer Lambda prebuilt.',
    );
    this.name = 'MissingBuildError';
  }
}

/** The folder of fleet-drainer's package.json, found from `start` upwards. */
export function findPackageRoot(start: string = __dirname): string {
  for (let dir = start; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === PACKAGE_NAME)
          return dir;
      } catch {
        // Not JSON: keep walking.
      }
    }
    if (dirname(dir) === dir)
      throw new Error(`fleet-drainer: no ${PACKAGE_NAME} package.json above ${start}`);
  }
}

/** Absolute path of a prebuilt file or folder under `dist/`; throws MissingBuildError when absent. */
export function builtPath(relative: string, root: string = findPackageRoot()): string {
  const path = join(root, 'dist', relative);
  if (!existsSync(path)) throw new MissingBuildError(join('dist', relative));
  return path;
}

/** The agent bundle that the document embeds. */
export const agentBundlePath = (root?: string): string => builtPath('fleet-drain-agent.js', root);

/** The drainer Lambda's asset directory (holds index.js only). */
export const lambdaAssetPath = (root?: string): string =>
  dirname(builtPath(join('lambda', 'index.js'), root));
