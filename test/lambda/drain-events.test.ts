// Fleet Drain Finished carries the agent's report, bounded so the PutEvents entry fits 256 KB.

import { describe, expect, it } from 'vitest';
import { fitDetail, MAX_ENTRY_BYTES, outputExcerpt } from '../../lambda/decide/drain-events';

const entryBytes = (detail: string, detailType: string) =>
  Buffer.byteLength(detail) + Buffer.byteLength(detailType) + Buffer.byteLength('fleet-drainer');

describe('fitDetail', () => {
  it('keeps a normal report whole', () => {
    const detail = { outcome: 'drained', report: { version: 1, id: 'x', outcome: 'drained', targets: [] } };
    expect(JSON.parse(fitDetail(detail, 'Fleet Drain Finished'))).toEqual(detail);
  });

  it('summarises a report that would not fit 256 KB', () => {
    const huge = { version: 1, id: 'x', outcome: 'forced', durationMs: 5, targets: ['€'.repeat(100_000)] };
    const json = fitDetail({ outcome: 'forced', instanceId: 'i-1', report: huge }, 'Fleet Drain Finished');
    expect(entryBytes(json, 'Fleet Drain Finished')).toBeLessThanOrEqual(MAX_ENTRY_BYTES);
    expect(JSON.parse(json)).toEqual({
      outcome: 'forced',
      instanceId: 'i-1',
      report: { truncated: true, outcome: 'forced', id: 'x', durationMs: 5 },
    });
  });

  it('drops the output excerpt too when that is still not enough', () => {
    const json = fitDetail(
      { outcome: 'failed', report: null, output: 'x'.repeat(300_000) },
      'Fleet Drain Finished',
    );
    expect(entryBytes(json, 'Fleet Drain Finished')).toBeLessThanOrEqual(MAX_ENTRY_BYTES);
    expect(JSON.parse(json)).toMatchObject({ outcome: 'failed', output: null });
  });
});

describe('outputExcerpt', () => {
  it('keeps the start of stdout and the end of stderr', () => {
    const excerpt = outputExcerpt(`a${'x'.repeat(5000)}`, `${'y'.repeat(5000)}z`) ?? '';
    expect(excerpt.startsWith('a')).toBe(true);
    expect(excerpt.endsWith('z')).toBe(true);
    expect(excerpt.length).toBeLessThanOrEqual(4100);
  });

  it('is null when there was no output', () => {
    expect(outputExcerpt('', undefined)).toBeNull();
  });
});
