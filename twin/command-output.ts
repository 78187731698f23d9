// What the API returns of a step's stdout and stderr: cut first by the SSM Agent, in bytes, then by the
// service, in characters (GetCommandInvocation); and the plugin's `Output` that joins both.
//
// The agent (amazon-ssm-agent agent/framework/runpluginutil/runpluginutil.go, RunPlugins) passes both streams
// through pluginutil.StringPrefix (agent/plugins/pluginutil/pluginutil.go) with MaxStdoutLength 24,000 and the
// suffix "--output truncated--" (agent/framework/processor/executer/iohandler/iohandler.go,
// DefaultOutputConfig): a Go string is kept whole while `len` (bytes) is under 24,000; otherwise its first
// 23,980 bytes are kept and the suffix appended. stderr goes through the same call with the same stdout limit.
// The agent then sends the result in a JSON reply (agent/runcommand/service.go, json.Marshal), and Go's
// encoder replaces every byte that starts no valid UTF-8 sequence with U+FFFD (golang/go
// src/encoding/json/encode.go appendString; src/unicode/utf8/utf8.go DecodeRune returns (RuneError, 1) for an
// incomplete sequence), so a character cut by the byte limit becomes one U+FFFD per byte kept of it.
// The service documents StandardOutputContent as "the first 24,000 characters" (never binding after the
// agent's cut: no more characters than bytes) and StandardErrorContent as "the first 8,000 characters"
// (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetCommandInvocation.html).

/** The agent keeps a stream whole only while it is under this many bytes (MaxStdoutLength). */
export const AGENT_OUTPUT_LIMIT_BYTES = 24_000;
/** What the agent appends to a stream it cut (OutputTruncatedSuffix). */
export const OUTPUT_TRUNCATED_SUFFIX = '--output truncated--';
/** StandardErrorContent holds the first 8,000 characters of stderr. */
export const STDERR_CONTENT_LIMIT_CHARS = 8_000;
/** A plugin's `Output` holds stdout and stderr in this many bytes (MaximumPluginOutputSize). */
export const PLUGIN_OUTPUT_LIMIT_BYTES = 2_500;

/** StandardOutputContent for a step that wrote `stdout`. */
export function standardOutputContent(stdout: string): string {
  return agentStringPrefix(stdout);
}

/**
 * StandardErrorContent for a step that wrote `stderr`. *Assumption*: the service cuts at 8,000 code points
 * with no suffix of its own (its documentation says only "the first 8,000 characters").
 */
export function standardErrorContent(stderr: string): string {
  const kept = agentStringPrefix(stderr);
  const characters = Array.from(kept);
  return characters.length <= STDERR_CONTENT_LIMIT_CHARS
    ? kept
    : characters.slice(0, STDERR_CONTENT_LIMIT_CHARS).join('');
}

/** pluginutil.StringPrefix on the stream's UTF-8 bytes, rendered as Go's JSON encoder sends it. */
function agentStringPrefix(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length < AGENT_OUTPUT_LIMIT_BYTES) return text;
  const keep = AGENT_OUTPUT_LIMIT_BYTES - Buffer.byteLength(OUTPUT_TRUNCATED_SUFFIX);
  return goJsonText(Buffer.concat([bytes.subarray(0, keep), Buffer.from(OUTPUT_TRUNCATED_SUFFIX)]));
}

/**
 * A plugin's `Output` (ListCommandInvocations' `CommandPlugins[].Output`): stdout and stderr joined by the
 * agent's iohandler.TruncateOutput into MaximumPluginOutputSize (2,500) bytes, with an error title between them
 * and a marker after each one it cut (agent/framework/processor/executer/iohandler/iohandler.go).
 */
export function pluginOutput(stdout: string, stderr: string): string {
  const out = Buffer.from(stdout, 'utf8');
  const err = Buffer.from(stderr, 'utf8');
  const title = Buffer.from(err.length > 0 ? '\n----------ERROR-------\n' : '');
  const outCut = Buffer.from('\n---Output truncated---');
  const errCut = Buffer.from('\n---Error truncated----');
  const available = PLUGIN_OUTPUT_LIMIT_BYTES - title.length;
  const half = Math.floor(available / 2);
  // Go slices with these bounds; a negative one (stdout of exactly half the space and a long stderr) would
  // panic there: the twin keeps nothing instead.
  const head = (bytes: Buffer, end: number) => bytes.subarray(0, Math.max(0, end));
  let parts: Buffer[];
  if (out.length + err.length < available) parts = [out, title, err];
  else if (out.length > half && err.length > half) {
    const each = Math.floor((available - errCut.length - outCut.length) / 2);
    parts = [head(out, each), outCut, title, head(err, each), errCut];
  } else if (out.length < half) {
    parts = [out, title, head(err, available - errCut.length - out.length), errCut];
  } else parts = [head(out, available - outCut.length - err.length), outCut, title, err];
  return goJsonText(Buffer.concat(parts));
}

/**
 * Bytes as Go's encoding/json sends them: every byte that starts no valid UTF-8 sequence (utf8.DecodeRune
 * answers RuneError, 1) becomes U+FFFD, so a character cut in two becomes one U+FFFD per byte kept of it.
 */
function goJsonText(bytes: Uint8Array): string {
  let text = '';
  let start = 0;
  let index = 0;
  while (index < bytes.length) {
    const size = validSequenceLength(bytes, index);
    if (size > 0) {
      index += size;
      continue;
    }
    text += `${Buffer.from(bytes.subarray(start, index)).toString('utf8')}\uFFFD`;
    index += 1;
    start = index;
  }
  return text + Buffer.from(bytes.subarray(start)).toString('utf8');
}

/** The length of the valid UTF-8 sequence at `index`, as Go's utf8.DecodeRune accepts it; 0 when invalid. */
function validSequenceLength(bytes: Uint8Array, index: number): number {
  const lead = bytes[index] as number;
  if (lead < 0x80) return 1;
  // The second byte's range narrows for E0, ED, F0 and F4 (no overlong forms, surrogates or > U+10FFFF).
  let size: number;
  let low = 0x80;
  let high = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) size = 2;
  else if (lead >= 0xe0 && lead <= 0xef) {
    size = 3;
    if (lead === 0xe0) low = 0xa0;
    if (lead === 0xed) high = 0x9f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    size = 4;
    if (lead === 0xf0) low = 0x90;
    if (lead === 0xf4) high = 0x8f;
  } else return 0;
  if (index + size > bytes.length) return 0;
  for (let offset = 1; offset < size; offset += 1) {
    const byte = bytes[index + offset] as number;
    if (byte < (offset === 1 ? low : 0x80) || byte > (offset === 1 ? high : 0xbf)) return 0;
  }
  return size;
}
