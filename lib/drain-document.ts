// The fleet-drain SSM Command document: one aws:runShellScript step that carries the agent bundle inside
// itself (gzip + base64), so a drain needs nothing but the document (no S3 download, no instance-role change).
// https://docs.aws.amazon.com/systems-manager/latest/userguide/documents-schemas-features.html

import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import {
  DRAIN_PARAMETERS,
  type DrainParameterName,
  PLAN_ACTION,
  POLICY_PARAMETER_MAX_CHARS,
} from '../agent/policy/drain-parameters';
import type { DrainPolicy } from '../agent/policy/policy';
import { EXIT } from '../agent/report/exit-codes';
import { AGENT_CHECK_MARKER } from '../agent/targets/document-steps';

/** SSM's limit on a document's content. https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_CreateDocument.html */
export const DOCUMENT_CONTENT_LIMIT_BYTES = 64 * 1024;
/** Where the agent keeps its lock and state files and where the document writes the agent (root only). */
export const HOST_STATE_DIR = '/run/fleet-drainer';
/**
 * Overrides HOST_STATE_DIR. Only the tests that run the document's script set it; the SSM Agent's
 * environment never has it.
 */
export const STATE_DIR_OVERRIDE_ENV = 'FLEET_DRAIN_STATE_DIR';
/** The oldest node the agent bundle runs on (scripts/build.mjs targets node18). */
export const MIN_NODE_MAJOR = 18;
/** util.parseArgs, which the agent uses, came with Node 18.3. */
export const MIN_NODE_MINOR = 3;
const MIN_NODE = `${MIN_NODE_MAJOR}.${MIN_NODE_MINOR}`;
const HEREDOC_END = 'FLEET_DRAIN_AGENT_END';
/** gzip's smallest output: the agent rides inside the document's 64 KB. */
const AGENT_GZIP_LEVEL = 9;
/** Hex digits of the agent's SHA-256 in its file name on the host: one file per agent version. */
const AGENT_HASH_CHARS = 16;

/** Groups that drain with a policy of their own (already validated with resolvePolicy). */
export interface GroupPolicy {
  groupName: string;
  policy: DrainPolicy;
}

export interface DrainDocumentOptions {
  /** The agent bundle (dist/fleet-drain-agent.js). */
  agentBundle: Buffer;
  /** The drain policy of every group without its own, already validated with resolvePolicy. */
  policy: DrainPolicy;
  /** Groups with a policy of their own. */
  groupPolicies?: readonly GroupPolicy[];
  /** aws:runShellScript's execution timeout. */
  timeoutSeconds: number;
}

const policyBase64 = (policy: DrainPolicy): string => Buffer.from(JSON.stringify(policy)).toString('base64');

/**
 * The lines that set `$policy_b64` to the drained group's policy: one document carries every distinct one. The
 * group name is single-quoted in the `case` pattern: the construct admits no name with quotes or shell syntax.
 */
export function policySelection(policy: DrainPolicy, groupPolicies: readonly GroupPolicy[] = []): string[] {
  const byPolicy = new Map<string, string[]>();
  for (const { groupName, policy: own } of groupPolicies) {
    const encoded = policyBase64(own);
    byPolicy.set(encoded, [...(byPolicy.get(encoded) ?? []), groupName]);
  }
  if (byPolicy.size === 0) return [`policy_b64='${policyBase64(policy)}'`];
  return [
    "# The group's own drain policy, else the default one.",
    'case "$SSM_autoScalingGroupName" in',
    ...[...byPolicy].map(
      ([encoded, names]) => `  ${names.map((name) => `'${name}'`).join('|')}) policy_b64='${encoded}' ;;`,
    ),
    `  *) policy_b64='${policyBase64(policy)}' ;;`,
    'esac',
  ];
}

/**
 * A batched start (`drainIds`, lambda/decide/drain-command.ts) names every host's drain: this host runs the one
 * paired with its own id, which the SSM Agent exports as AWS_SSM_INSTANCE_ID to every process it runs
 * (github.com/aws/amazon-ssm-agent agent/executers/executers.go, prepareEnvironment). Not named: exit 64.
 */
function batchSelectionLines(): string[] {
  return [
    '# A batched start: run the drain paired with this host (AWS_SSM_INSTANCE_ID, set by the SSM Agent).',
    'if [ -n "$SSM_drainIds" ]; then',
    `  own_drain=; own_host="\${AWS_SSM_INSTANCE_ID:-}"; saved_ifs=$IFS; IFS=,`,
    `  for pair in $SSM_drainIds; do case "$pair" in "$own_host="*) own_drain=\${pair#*=} ;; esac; done`,
    '  IFS=$saved_ifs',
    '  if [ -z "$own_host" ] || [ -z "$own_drain" ]; then',
    `    echo "fleet-drainer: this batched drain names no drain for instance \${own_host:-(AWS_SSM_INSTANCE_ID not set)}. Nothing was drained." >&2`,
    `    exit ${EXIT.usage}`,
    '  fi',
    '  export SSM_drainId="$own_drain" SSM_instanceId="$own_host"',
    'fi',
  ];
}

/**
 * The largest runtime parameters a drain is sent with, each at its pattern's longest (`drainIds`: 50 pairs):
 * SSM counts them in the document's 64 KB (API_CreateDocument.html, Content).
 */
export const RUNTIME_PARAMETERS_MAX_BYTES =
  50 * (19 + 1 + 64) +
  49 +
  /* drainId */ 64 +
  /* deadline */ 24 +
  /* instanceId */ 19 +
  2 * 255 +
  /* action */ 7;

/** The shell lines of the step: each one an element of runCommand. */
export function drainScript({
  agentBundle,
  policy,
  groupPolicies,
}: Omit<DrainDocumentOptions, 'timeoutSeconds'>): string[] {
  const agentB64 = gzipSync(agentBundle, { level: AGENT_GZIP_LEVEL }).toString('base64');
  const agentHash = createHash('sha256').update(agentBundle).digest('hex').slice(0, AGENT_HASH_CHARS);
  const names = Object.keys(DRAIN_PARAMETERS) as DrainParameterName[];
  return [
    '#!/bin/sh',
    '# fleet-drainer: write the drain agent carried below to a root-only file and run it with the policy.',
    'set -u',
    '# SSM Agents before 3.3.2746.0 do not export $SSM_<name> (interpolationType ENV_VAR): fall back to',
    "# SSM's text substitution, safe because every parameter's allowedPattern admits no shell syntax.",
    ...names.map((name) => `if [ -z "\${SSM_${name}+x}" ]; then export SSM_${name}="{{ ${name} }}"; fi`),
    ...batchSelectionLines(),
    "# The agent puts these in every log line, so its logs join the Lambda's.",
    'export FLEET_DRAIN_INSTANCE_ID="$SSM_instanceId" FLEET_DRAIN_GROUP="$SSM_autoScalingGroupName" FLEET_DRAIN_HOOK="$SSM_lifecycleHookName"',
    ...policyParameterLines(),
    `state_dir="\${${STATE_DIR_OVERRIDE_ENV}:-${HOST_STATE_DIR}}"`,
    'if ! command -v node >/dev/null 2>&1; then',
    `  echo "fleet-drainer: node was not found (PATH=$PATH). The drain agent needs Node.js >= ${MIN_NODE} on the instance: install it in the launch template's user data (Amazon Linux 2023: dnf install -y nodejs). Nothing was drained." >&2`,
    `  exit ${EXIT.config}`,
    'fi',
    '# major * 100 + minor, so that 18.3 is 1803',
    `node_version=$(node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.stdout.write(String(a * 100 + b))' ${AGENT_CHECK_MARKER} 2>/dev/null)`,
    'case "$node_version" in ""|*[!0-9]*) node_version=0 ;; esac',
    `if [ "$node_version" -lt ${MIN_NODE_MAJOR * 100 + MIN_NODE_MINOR} ]; then`,
    `  echo "fleet-drainer: $(command -v node) is Node.js $(node --version 2>/dev/null || echo unknown); the drain agent needs >= ${MIN_NODE}. Nothing was drained." >&2`,
    `  exit ${EXIT.config}`,
    'fi',
    'umask 077',
    'mkdir -p "$state_dir" && chmod 700 "$state_dir" || exit 70',
    `agent="$state_dir/fleet-drain-agent-${agentHash}.js"`,
    'if [ ! -s "$agent" ]; then',
    '  # Written under a temporary name and renamed, so a duplicate drain starting at once never runs half a file.',
    `  node -e 'const fs=require("fs"),zlib=require("zlib");fs.writeFileSync(process.argv[1],zlib.gunzipSync(Buffer.from(fs.readFileSync(0,"utf8"),"base64")),{mode:0o700})' "$agent.$$" <<'${HEREDOC_END}' && mv -f "$agent.$$" "$agent" || { echo "fleet-drainer: could not write the drain agent to $agent" >&2; rm -f "$agent.$$"; exit ${EXIT.internal}; }`,
    agentB64,
    HEREDOC_END,
    'fi',
    ...policySelection(policy, groupPolicies),
    ...planLines(),
    '# Run in the background (exec: $! is the agent itself) so that the watchdog below can reach it.',
    `drain() { exec node "$agent" drain --config-b64 "$policy_b64" --id "$SSM_drainId" --deadline "$SSM_deadline" --action "$SSM_action" --state-dir "$state_dir"; }`,
    ...watchdogLines(),
    'run_drain',
    '# An agent killed mid-drain (the OOM killer) left its progress in the state dir: run it once more, it',
    '# resumes the schedule where it stood and never repeats a signal, so the workers still get stopped.',
    '# Not after the watchdog: an agent past its deadline is not run again.',
    'if [ "$rc" -gt 128 ] && [ ! -e "$watchdog_flag" ]; then',
    '  echo "fleet-drainer: the drain agent died from signal $((rc - 128)); running it once more to finish the drain" >&2',
    '  run_drain',
    'fi',
    'if [ -e "$watchdog_flag" ]; then',
    '  rm -f "$watchdog_flag"',
    '  if [ "$rc" -gt 128 ]; then',
    `    echo "fleet-drainer: the drain agent was still running \${watchdog_margin}s past its deadline $SSM_deadline and ignored TERM for \${watchdog_grace}s: killed it (exit $rc); exiting ${EXIT.internal} (internal error)" >&2`,
    `    rc=${EXIT.internal}`,
    '  else',
    `    echo "fleet-drainer: the drain agent was still running \${watchdog_margin}s past its deadline $SSM_deadline: sent it TERM; it exited $rc" >&2`,
    '  fi',
    'fi',
    '# Never 137 (SSM reports a timeout) nor 194 (SSM reboots the host): a death by signal becomes 70.',
    'if [ "$rc" -gt 128 ]; then',
    `  echo "fleet-drainer: the drain agent died from signal $((rc - 128)) (exit $rc); exiting ${EXIT.internal} (internal error) instead" >&2`,
    `  rc=${EXIT.internal}`,
    'fi',
    ...exitStatusLines(),
  ];
}

/**
 * The `policy` parameter is for plan only: a drain always runs the deployed policy. Checked before anything
 * is written, with the length bound the allowedPattern cannot carry (see DRAIN_PARAMETERS.policy).
 */
function policyParameterLines(): string[] {
  return [
    `if [ -n "$SSM_policy" ] && [ "$SSM_action" != ${PLAN_ACTION} ]; then`,
    `  echo "fleet-drainer: the policy parameter is for action ${PLAN_ACTION} only; a drain runs the deployed policy. Send the command without it. Nothing was drained." >&2`,
    `  exit ${EXIT.usage}`,
    'fi',
    `if [ "\${#SSM_policy}" -gt ${POLICY_PARAMETER_MAX_CHARS} ]; then`,
    `  echo "fleet-drainer: the policy parameter is \${#SSM_policy} characters of base64, over ${POLICY_PARAMETER_MAX_CHARS}: shorten the policy. Nothing was planned." >&2`,
    `  exit ${EXIT.config}`,
    'fi',
  ];
}

/**
 * Plan mode: the agent's `plan` with the sent policy, else the deployed one. It reads /proc and signals
 * nothing, writes no lock or state file and touches no lifecycle action (no watchdog, no second run). A bad
 * policy is the agent's exit 78 with its schema's message on stderr.
 */
function planLines(): string[] {
  return [
    `if [ "$SSM_action" = ${PLAN_ACTION} ]; then`,
    '  if [ -n "$SSM_policy" ]; then policy_b64="$SSM_policy"; fi',
    '  exec node "$agent" plan --config-b64 "$policy_b64"',
    'fi',
  ];
}

/**
 * The command's exit status for each agent exit code: Run Command shows `Success` whenever the host ended
 * clear, `Failed` only when work may still be running or the agent failed. The summary line and the report
 * on stdout keep the agent's own outcome (a forced drain is `Success` with outcome `forced`).
 */
export const DOCUMENT_EXIT_STATUS: Readonly<Record<number, number>> = {
  [EXIT.drained]: 0, // drained, or nothing to drain
  [EXIT.forced]: 0, // every target stopped, some only after KILL: the host is clear
  [EXIT.incomplete]: EXIT.incomplete,
  [EXIT.interrupted]: EXIT.interrupted,
  [EXIT.usage]: EXIT.usage,
  [EXIT.internal]: EXIT.internal,
  [EXIT.config]: EXIT.config,
};

/** Past the deadline, how long the watchdog waits before it sends the agent TERM. */
export const WATCHDOG_MARGIN_SECONDS = 60;
/** After TERM, how long the watchdog waits before it sends KILL. */
export const WATCHDOG_GRACE_SECONDS = 15;
/** Override WATCHDOG_MARGIN_SECONDS and WATCHDOG_GRACE_SECONDS; only the tests of the script set them. */
export const WATCHDOG_MARGIN_ENV = 'FLEET_DRAIN_WATCHDOG_MARGIN_SECONDS';
export const WATCHDOG_GRACE_ENV = 'FLEET_DRAIN_WATCHDOG_GRACE_SECONDS';

/**
 * `run_drain`: runs the agent in the background beside a watchdog and leaves its exit code in $rc. The watchdog
 * bounds a stuck agent: TERM at deadline + margin (it reports `interrupted`), KILL after the grace. It writes
 * nothing to the command's output and holds none of its pipes.
 */
function watchdogLines(): string[] {
  const seconds = (env: string, fallback: number) =>
    `\${${env}:-${fallback}}"; case "$_s" in ''|*[!0-9]*) _s=${fallback} ;; esac`;
  return [
    `_s="${seconds(WATCHDOG_MARGIN_ENV, WATCHDOG_MARGIN_SECONDS)}; watchdog_margin=$_s`,
    `_s="${seconds(WATCHDOG_GRACE_ENV, WATCHDOG_GRACE_SECONDS)}; watchdog_grace=$_s`,
    'watchdog_flag="$state_dir/watchdog-$$"',
    'rm -f "$watchdog_flag"',
    '# sleep, interruptible: the sleeper is killed and reaped with the watchdog, whenever TERM arrives.',
    'nap() {',
    "  stop=; trap 'stop=1' TERM",
    '  sleep "$1" & sleeper=$!',
    `  trap 'kill "$sleeper" 2>/dev/null; wait "$sleeper" 2>/dev/null; exit 0' TERM`,
    '  if [ -n "$stop" ]; then kill "$sleeper" 2>/dev/null; wait "$sleeper" 2>/dev/null; exit 0; fi',
    '  wait "$sleeper"',
    '}',
    'watchdog() {',
    '  nap "$2"',
    '  kill -0 "$1" 2>/dev/null || exit 0',
    '  : > "$watchdog_flag"',
    '  kill -TERM "$1" 2>/dev/null',
    '  nap "$watchdog_grace"',
    '  kill -KILL "$1" 2>/dev/null',
    '}',
    'run_drain() {',
    '  drain &',
    '  agent_pid=$!',
    `  left=$(node -e 'const t = Date.parse(process.argv[1]); process.stdout.write(String(Number.isNaN(t) ? 0 : Math.max(0, Math.ceil((t - Date.now()) / 1000))))' "$SSM_deadline" ${AGENT_CHECK_MARKER} 2>/dev/null)`,
    '  case "$left" in ""|*[!0-9]*) left=0 ;; esac',
    '  ( watchdog "$agent_pid" "$((left + watchdog_margin))" ) </dev/null >/dev/null 2>&1 &',
    '  watchdog_pid=$!',
    '  wait "$agent_pid"',
    '  rc=$?',
    '  kill "$watchdog_pid" 2>/dev/null',
    '  wait "$watchdog_pid" 2>/dev/null',
    '}',
  ];
}

/** The script's last lines: the agent's exit code mapped by DOCUMENT_EXIT_STATUS. */
function exitStatusLines(): string[] {
  const clear = Object.entries(DOCUMENT_EXIT_STATUS)
    .filter(([, status]) => status === 0)
    .map(([code]) => code);
  return [
    '# The host ended clear (drained, nothing to drain, forced): Success in Run Command. The summary line on',
    '# stdout keeps the outcome. Anything else keeps its code and shows as Failed.',
    `case "$rc" in ${clear.join('|')}) exit 0 ;; esac`,
    'exit "$rc"',
  ];
}

/** The document's content (schemaVersion 2.2). */
export function drainDocumentContent(options: DrainDocumentOptions): Record<string, unknown> {
  return {
    schemaVersion: '2.2',
    description:
      'fleet-drainer: drains this instance before its Auto Scaling group terminates it (sent by the drainer Lambda).',
    parameters: Object.fromEntries(
      Object.entries(DRAIN_PARAMETERS).map(([name, spec]) => [
        name,
        {
          type: 'String',
          description: spec.description,
          allowedPattern: spec.pattern,
          ...('maxChars' in spec ? { maxChars: spec.maxChars } : {}),
          interpolationType: 'ENV_VAR',
          ...('default' in spec ? { default: spec.default } : {}),
        },
      ]),
    ),
    mainSteps: [
      {
        action: 'aws:runShellScript',
        name: 'drain',
        precondition: { StringEquals: ['platformType', 'Linux'] },
        inputs: { timeoutSeconds: options.timeoutSeconds, runCommand: drainScript(options) },
      },
    ],
  };
}

/** Size of the content as CloudFormation sends it (JSON). */
export const documentContentBytes = (content: unknown): number => Buffer.byteLength(JSON.stringify(content));
