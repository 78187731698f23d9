// What the command line reads and writes: passed in, so that main() never touches the process itself.

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  readStdin: () => string;
  env: NodeJS.ProcessEnv;
}
