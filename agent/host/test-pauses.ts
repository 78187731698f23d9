// Pauses at named points of the agent, for the race tests alone: FLEET_DRAIN_TEST_PAUSE="point=ms,point=ms"
// holds the agent `ms` at each named point (a synchronous sleep: nothing else of the agent runs meanwhile),
// and says so on stderr first. Only the tests set it; unset, each point costs one lookup in an empty map.

const PAUSES = new Map(
  (process.env.FLEET_DRAIN_TEST_PAUSE ?? '')
    .split(',')
    .map((item) => item.split('='))
    .filter(([point, ms]) => point && Number(ms) > 0)
    .map(([point, ms]) => [point as string, Number(ms)]),
);

/** Holds the agent at `point` for as long as FLEET_DRAIN_TEST_PAUSE says (tests only). */
export function pauseAt(point: string): void {
  const ms = PAUSES.get(point);
  if (ms === undefined) return;
  process.stderr.write(`${JSON.stringify({ message: 'test pause', point, pid: process.pid, ms })}\n`);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
