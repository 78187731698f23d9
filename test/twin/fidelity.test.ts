// The twin's fidelity table (twin/README.md) stays honest: every row either names its source or says it has
// none, and the rows whose figures the code holds agree with the code. Plus the error codes the table's
// sources gave, through the real SDK client.

import { readFileSync } from 'node:fs';
import { DescribeInstanceInformationCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentRegistry } from '../../twin/agents';
import { ManualClock } from '../../twin/clock';
import {
  AGENT_OUTPUT_LIMIT_BYTES,
  OUTPUT_TRUNCATED_SUFFIX,
  STDERR_CONTENT_LIMIT_CHARS,
} from '../../twin/command-output';
import { CommandsModel } from '../../twin/commands';
import { ApiFaults } from '../../twin/faults';
import { type ApiServer, startApiServer } from '../../twin/server';
import { ssmOperation } from '../../twin/ssm-api';

interface Row {
  behaviour: string;
  twin: string;
  source: string;
  status: string;
}

function fidelitySection(): string {
  const readme = readFileSync(new URL('../../twin/README.md', import.meta.url), 'utf8');
  const start = readme.indexOf('### Fidelity');
  if (start < 0) throw new Error('twin/README.md has no "### Fidelity" section');
  const end = readme.indexOf('\n### ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

function tableRows(section: string): Row[] {
  return section
    .split('\n')
    .filter((line) => line.startsWith('|') && !line.startsWith('|---') && !line.startsWith('| behaviour |'))
    .map((line) => {
      const cells = line.slice(1, -1).split('|');
      if (cells.length !== 4) throw new Error(`a fidelity row needs 4 cells, got ${cells.length}: ${line}`);
      const [behaviour, twin, source, status] = cells.map((cell) => cell.trim()) as [
        string,
        string,
        string,
        string,
      ];
      return { behaviour, twin, source, status };
    });
}

describe('the fidelity table', () => {
  const section = fidelitySection();
  const rows = tableRows(section);
  const defined = new Set([...section.matchAll(/^\[([^\]]+)\]: https?:\/\/\S+$/gm)].map((match) => match[1]));

  it('has a row for each behaviour, each either sourced or an assumption', () => {
    expect(rows.length).toBeGreaterThan(50);
    for (const row of rows) {
      expect(row.behaviour, JSON.stringify(row)).not.toBe('');
      expect(row.twin, JSON.stringify(row)).not.toBe('');
      expect(row.status, row.behaviour).toMatch(/^(sourced|assumption)\b/);
    }
  });

  it('names a source for every sourced row, and every source it names is linked', () => {
    for (const row of rows.filter((candidate) => candidate.status.startsWith('sourced'))) {
      const references = [...row.source.matchAll(/\[([^\]]+)\]/g)].map((match) => match[1]);
      expect(references.length, `${row.behaviour}: no source`).toBeGreaterThan(0);
    }
    // Brackets inside code spans (`Instances [[i-…]]`) are text, not links.
    const prose = section.replace(/`[^`]*`/g, '');
    const used = [...prose.matchAll(/\[([^\]]+)\](?!:)/g)].map((match) => match[1]);
    expect(used.filter((name) => !defined.has(name))).toEqual([]);
  });

  it('gives the output limits the code applies', () => {
    const row = rows.find((candidate) => candidate.behaviour === 'output truncation');
    expect(row?.twin).toContain(`${AGENT_OUTPUT_LIMIT_BYTES.toLocaleString('en-US')} bytes`);
    expect(row?.twin).toContain(
      (AGENT_OUTPUT_LIMIT_BYTES - OUTPUT_TRUNCATED_SUFFIX.length).toLocaleString('en-US'),
    );
    expect(row?.twin).toContain(`\`${OUTPUT_TRUNCATED_SUFFIX}\``);
    expect(row?.twin).toContain(`${STDERR_CONTENT_LIMIT_CHARS.toLocaleString('en-US')} characters`);
  });
});

describe('error codes from the sources, through the real SDK client', () => {
  const clock = new ManualClock();
  const agents = new AgentRegistry();
  const commands = new CommandsModel(
    clock,
    new Map(),
    { isOnline: () => true, run: () => ({ kill: () => {} }) },
    { invocationChanged: () => {} },
  );
  let server: ApiServer;
  let ssm: SSMClient;

  beforeAll(async () => {
    server = await startApiServer({
      now: () => clock.now(),
      faults: new ApiFaults(),
      autoScaling: () => ({}),
      json: (_service, operation, input) => ssmOperation(commands, agents, operation, input, clock.now()),
    });
    ssm = new SSMClient({
      endpoint: server.url,
      region: 'us-west-2',
      credentials: { accessKeyId: 'twin', secretAccessKey: 'twin' },
      maxAttempts: 1,
    });
  });

  afterAll(async () => {
    ssm.destroy();
    await server.close();
  });

  it('refuses too many instance ids with the code SSM models for DescribeInstanceInformation', async () => {
    const ids = Array.from({ length: 51 }, (_, n) => `i-${n.toString(16).padStart(17, '0')}`);
    await expect(
      ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: ids }] })),
    ).rejects.toMatchObject({ name: 'InvalidInstanceInformationFilterValue' });
  });
});
