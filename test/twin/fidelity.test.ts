// The twin's fidelity table (twin/README.md) stays honest: every row either names its source or says it has
// none, and the rows whose figures the code holds agree with the code. Plus the error codes the table's
// sources gave, through the real SDK client.

import { readFileSync } from 'node:fs';
import {
  DescribeInstanceInformationCommand,
  ListCommandInvocationsCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentRegistry } from '../../twin/agents';
import { ManualClock } from '../../twin/clock';
import {
  AGENT_OUTPUT_LIMIT_BYTES,
  OUTPUT_TRUNCATED_SUFFIX,
  STDERR_CONTENT_LIMIT_CHARS,
} from '../../twin/command-output';
import { CommandsModel, type RunResult } from '../../twin/commands';
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
  const document = {
    schemaVersion: '2.2',
    mainSteps: [{ action: 'aws:runShellScript', name: 'drain', inputs: { runCommand: ['true'] } }],
  };
  let finish: ((result: RunResult) => void) | undefined;
  const commands = new CommandsModel(
    clock,
    new Map([['FleetDrain', document]]),
    {
      isOnline: () => true,
      run: (_command, _instance, done) => {
        finish = done;
        return { kill: () => {} };
      },
    },
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
  /** CommandPlugins[].Output of a run that wrote `stdout` and `stderr`, as the SDK reads it. */
  async function pluginOutputOf(stdout: string, stderr: string): Promise<string | undefined> {
    const sent = await ssm.send(
      new SendCommandCommand({ DocumentName: 'FleetDrain', InstanceIds: ['i-00000000000000001'] }),
    );
    commands.advance();
    finish?.({ exitCode: 0, stdout, stderr });
    clock.advance(1000);
    const page = await ssm.send(
      new ListCommandInvocationsCommand({ CommandId: sent.Command?.CommandId, Details: true }),
    );
    return page.CommandInvocations?.[0]?.CommandPlugins?.[0]?.Output;
  }

  it('joins stdout and stderr into a plugin Output of 2,500 bytes as the agent’s TruncateOutput does', async () => {
    const title = '\n----------ERROR-------\n';
    const outCut = '\n---Output truncated---';
    const errCut = '\n---Error truncated----';
    expect(await pluginOutputOf('out', 'err')).toBe(`out${title}err`);
    expect(await pluginOutputOf('out', '')).toBe('out');
    // No stderr: 2,500 bytes for stdout, its marker included.
    expect(await pluginOutputOf('x'.repeat(3000), '')).toBe(`${'x'.repeat(2477)}${outCut}`);
    // Both long: half of what the title and both markers leave (2,430 / 2) to each.
    expect(await pluginOutputOf('o'.repeat(2000), 'e'.repeat(2000))).toBe(
      `${'o'.repeat(1215)}${outCut}${title}${'e'.repeat(1215)}${errCut}`,
    );
    // One short: the other gets the rest.
    expect(await pluginOutputOf('o'.repeat(100), 'e'.repeat(5000))).toBe(
      `${'o'.repeat(100)}${title}${'e'.repeat(2353)}${errCut}`,
    );
    expect(await pluginOutputOf('o'.repeat(5000), 'e'.repeat(100))).toBe(
      `${'o'.repeat(2353)}${outCut}${title}${'e'.repeat(100)}`,
    );
    // In bytes: 2,477 bytes of "€" (3 each) end in two bytes of a character, each sent as U+FFFD.
    expect(await pluginOutputOf('€'.repeat(1000), '')).toBe(`${'€'.repeat(825)}\uFFFD\uFFFD${outCut}`);
  });
});
