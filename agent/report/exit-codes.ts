// Exit codes of `fleet-drain-agent`. Never 194 (SSM reboots the host) nor 137 (SSM reports a timeout).

export const EXIT = {
  /** Every target stopped without a forced kill, or there was nothing to drain. */
  drained: 0,
  /** Something was still running when the schedule or the deadline ran out. */
  incomplete: 2,
  /** Every target stopped, some only after KILL. */
  forced: 3,
  /** The agent itself got TERM or INT: it stopped escalating and reported. */
  interrupted: 4,
  usage: 64,
  internal: 70,
  config: 78,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
