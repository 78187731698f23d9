// Shared by the twin's end-to-end tests: fixture workers inside instances, and reading their records.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BusEvent } from '../../twin/event-envelope';
import type { WorkerSpec } from '../../twin/instances';

const GRACEFUL_WORKER = fileURLToPath(new URL('../fixtures/graceful-worker.mjs', import.meta.url));
const HELD_WORKER = fileURLToPath(new URL('./fixtures/held-worker.mjs', import.meta.url));

export interface WorkerRecord {
  pid: number;
  event: 'ready' | 'signal' | 'exit';
  signal?: string;
}

/** One log file per instance, shared by its workers (they run inside the instance's namespace). */
export class WorkerLogs {
  readonly dir = mkdtempSync(join(tmpdir(), 'fleet-twin-test-'));

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  file(instanceId: string): string {
    return join(this.dir, `${instanceId}.log`);
  }

  /** `count` graceful workers that exit `exitDelayMs` after TERM. */
  workers(count: number, exitDelayMs: number): (instanceId: string) => WorkerSpec[] {
    return (instanceId) => {
      writeFileSync(this.file(instanceId), '');
      return Array.from({ length: count }, () => ({
        command: [process.execPath, GRACEFUL_WORKER, instanceId],
        env: { FIXTURE_LOG: this.file(instanceId), EXIT_DELAY_MS: String(exitDelayMs) },
      }));
    };
  }

  /** Whether `count` workers of the instance have installed their signal handlers. */
  ready(instanceId: string, count: number): boolean {
    return this.records(instanceId).filter((record) => record.event === 'ready').length >= count;
  }

  /** One worker that, after TERM, exits only once `release(instanceId)` was called. */
  heldWorker(): (instanceId: string) => WorkerSpec[] {
    return (instanceId) => {
      writeFileSync(this.file(instanceId), '');
      return [
        {
          command: [process.execPath, HELD_WORKER, instanceId],
          env: { FIXTURE_LOG: this.file(instanceId), RELEASE_FILE: `${this.file(instanceId)}.release` },
        },
      ];
    };
  }

  release(instanceId: string): void {
    writeFileSync(`${this.file(instanceId)}.release`, '');
  }

  records(instanceId: string): WorkerRecord[] {
    return readFileSync(this.file(instanceId), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as WorkerRecord);
  }
}

/** The `Fleet Drain Finished` events the handler put on the bus. */
export function finishedEvents(events: readonly BusEvent[]): BusEvent[] {
  return events.filter(
    (event) => event.source === 'fleet-drainer' && event['detail-type'] === 'Fleet Drain Finished',
  );
}
