import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { agentBundlePath, findPackageRoot, lambdaAssetPath } from '../../lib/assets';

const unbuilt = mkdtempSync(join(tmpdir(), 'fleet-drainer-unbuilt-'));
writeFileSync(join(unbuilt, 'package.json'), JSON.stringify({ name: 'fleet-drainer' }));
afterAll(() => rmSync(unbuilt, { recursive: true, force: true }));

it('finds the package root from the sources', () => {
  expect(agentBundlePath()).toBe(join(findPackageRoot(), 'dist', 'fleet-drain-agent.js'));
});

it('says to run npm run build when the prebuilt files are missing', () => {
  expect(() => agentBundlePath(unbuilt)).toThrow(
    /dist\/fleet-drain-agent\.js is missing\. Run `npm run build`/,
  );
  expect(() => lambdaAssetPath(unbuilt)).toThrow(/dist\/lambda\/index\.js is missing\. Run `npm run build`/);
});
