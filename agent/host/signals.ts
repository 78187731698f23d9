// Linux signal names and numbers. A fixed table rather than os.constants.signals: the policy is validated
// where the CDK app runs (maybe macOS, whose numbers differ) and used where the agent runs (Linux).

const LINUX_SIGNALS: Readonly<Record<string, number>> = {
  HUP: 1,
  INT: 2,
  QUIT: 3,
  ILL: 4,
  TRAP: 5,
  ABRT: 6,
  BUS: 7,
  FPE: 8,
  KILL: 9,
  USR1: 10,
  SEGV: 11,
  USR2: 12,
  PIPE: 13,
  ALRM: 14,
  TERM: 15,
  STKFLT: 16,
  CHLD: 17,
  CONT: 18,
  STOP: 19,
  TSTP: 20,
  TTIN: 21,
  TTOU: 22,
  URG: 23,
  XCPU: 24,
  XFSZ: 25,
  VTALRM: 26,
  PROF: 27,
  WINCH: 28,
  IO: 29,
  PWR: 30,
  SYS: 31,
};

const NAME_BY_NUMBER = new Map(Object.entries(LINUX_SIGNALS).map(([name, number]) => [number, name]));

/** A signal the agent can send: its name (without SIG) and its Linux number. */
export interface Signal {
  name: string;
  number: number;
}

/** The highest signal number on Linux (the last real-time signal). */
const SIGRTMAX = 64;

/** Parses `TERM`, `SIGTERM`, `sigterm` or `15`; undefined when it is not a Linux signal. */
export function parseSignal(text: string): Signal | undefined {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) {
    const number = Number(trimmed);
    if (number < 1 || number > SIGRTMAX) return undefined;
    return { name: NAME_BY_NUMBER.get(number) ?? String(number), number };
  }
  const name = trimmed.toUpperCase().replace(/^SIG/, '');
  const number = LINUX_SIGNALS[name];
  return number === undefined ? undefined : { name, number };
}

export const SIGKILL: Signal = { name: 'KILL', number: 9 };
