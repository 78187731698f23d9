// A preload for the drain benchmark (`node --require bench/agent-timeline.cjs dist/fleet-drain-agent.js …`):
// timestamps the agent's exit path on CLOCK_MONOTONIC (process.hrtime, the clock the workers record their
// exit with) without touching agent/. At exit it writes the events to $AGENT_TIMELINE as JSON:
// [name, ns, detail] with names
//   tick      the first read of a /proc/PID/stat after 2 ms without one: a wait's poll woke up
//   gone      a read of /proc/PID/stat found the process gone or a zombie (detail: PID)
//   scan      readdirSync('/proc') began (a full rescan)
//   scanned   that readdirSync returned (the reads of each process follow)
//   state     a state file was renamed into place (detail: bytes written)
//   unlock    the drain's lock file was removed
//   report    the report was written to stdout (detail: characters)
//   exit      the 'exit' event: Node starts tearing down
// The agent's bundle calls fs functions as properties of the module object, so patching them here works.
// /proc/PID/stat is followed through readFileSync and through openSync + readSync alike.

const fs = require('node:fs');

const file = process.env.AGENT_TIMELINE;
const events = [];
const now = () => process.hrtime.bigint().toString();
const mark = (name, detail) => events.push([name, now(), detail]);

const statPath = /^\/proc\/(\d+)\/stat$/;
const { closeSync, openSync, readFileSync, readSync, readdirSync, renameSync, unlinkSync, writeSync } = fs;
let lastWriteBytes = 0;
let lastStatReadNs = 0n;

const statPid = (path) => (typeof path === 'string' ? statPath.exec(path)?.[1] : undefined);
const markTick = () => {
  const startNs = process.hrtime.bigint();
  if (startNs - lastStatReadNs > 2_000_000n) events.push(['tick', startNs.toString()]);
  lastStatReadNs = startNs;
};
/** The state field of a stat line: Z and X count as gone, like the agent says. */
const isGoneState = (text) => {
  const state = text.slice(text.lastIndexOf(')') + 2)[0];
  return state === 'Z' || state === 'X';
};

fs.readFileSync = function tracedReadFileSync(path, ...rest) {
  const pid = statPid(path);
  if (pid === undefined) return readFileSync.call(this, path, ...rest);
  markTick();
  let text;
  try {
    text = readFileSync.call(this, path, ...rest);
  } catch (error) {
    mark('gone', Number(pid));
    throw error;
  }
  if (isGoneState(String(text))) mark('gone', Number(pid));
  return text;
};
const statFds = new Map();
fs.openSync = function tracedOpenSync(path, ...rest) {
  const pid = statPid(path);
  if (pid === undefined) return openSync.call(this, path, ...rest);
  markTick();
  let fd;
  try {
    fd = openSync.call(this, path, ...rest);
  } catch (error) {
    mark('gone', Number(pid));
    throw error;
  }
  statFds.set(fd, Number(pid));
  return fd;
};
fs.readSync = function tracedReadSync(fd, buffer, offset, ...rest) {
  const count = readSync.call(this, fd, buffer, offset, ...rest);
  const pid = statFds.get(fd);
  if (pid !== undefined && Buffer.isBuffer(buffer)) {
    const start = typeof offset === 'number' ? offset : 0;
    if (count > 0 && isGoneState(buffer.toString('latin1', start, start + count))) mark('gone', pid);
  }
  return count;
};
fs.closeSync = function tracedCloseSync(fd) {
  statFds.delete(fd);
  return closeSync.call(this, fd);
};
fs.readdirSync = function tracedReaddirSync(path, ...rest) {
  if (path !== '/proc') return readdirSync.call(this, path, ...rest);
  mark('scan');
  const names = readdirSync.call(this, path, ...rest);
  mark('scanned', names.length);
  return names;
};
fs.writeSync = function tracedWriteSync(fd, data, ...rest) {
  const written = writeSync.call(this, fd, data, ...rest);
  lastWriteBytes = written;
  return written;
};
fs.renameSync = function tracedRenameSync(from, to) {
  renameSync.call(this, from, to);
  mark('state', lastWriteBytes);
};
fs.unlinkSync = function tracedUnlinkSync(path) {
  unlinkSync.call(this, path);
  if (String(path).endsWith('.lock')) mark('unlock');
};
const write = process.stdout.write;
process.stdout.write = function tracedWrite(chunk, ...rest) {
  const result = write.call(this, chunk, ...rest);
  mark('report', chunk.length);
  return result;
};
process.on('exit', () => {
  mark('exit');
  if (file) fs.writeFileSync(file, JSON.stringify(events));
});
