// Builds the agent bundle once before the tests that run it as a real process.
import { execFileSync } from 'node:child_process';

export default function setup(): void {
  execFileSync(process.execPath, ['scripts/build.mjs'], {
    stdio: 'inherit',
    env: { ...process.env, QUIET_BUILD: '1' },
  });
}
