// What GetCommandInvocation returns of a step's stdout and stderr: cut first by the SSM Agent, in bytes, then
// by the service, in characters.
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
  const kept = bytes.subarray(0, AGENT_OUTPUT_LIMIT_BYTES - Buffer.byteLength(OUTPUT_TRUNCATED_SUFFIX));
  const cut = incompleteTailLength(kept);
  return `${kept.subarray(0, kept.length - cut).toString('utf8')}${'\uFFFD'.repeat(cut)}${OUTPUT_TRUNCATED_SUFFIX}`;
}

/**
 * How many bytes at the end of `bytes` are the start of a character the cut left incomplete (0–3). The bytes
 * encode a JS string, so they are valid UTF-8 up to the cut: only its last character can be incomplete.
 */
function incompleteTailLength(bytes: Uint8Array): number {
  for (let back = 1; back <= Math.min(3, bytes.length); back += 1) {
    const byte = bytes[bytes.length - back] as number;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: the lead is further back
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return length > back ? back : 0;
  }
  return 0;
}
