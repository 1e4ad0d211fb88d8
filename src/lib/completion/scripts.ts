import {readFileSync} from 'node:fs'

/**
 * The completion scripts (completion/keyflow.SHELL in the package) and where each shell is
 * told to load them. Each asks `keyflow __complete` for the candidates of the word under the
 * cursor (complete.ts).
 */

export const SHELLS = ['bash', 'zsh', 'fish'] as const
export type Shell = (typeof SHELLS)[number]

/** The file a user puts the setup in, and the line or command that does it (relative to HOME). */
export const SETUP: Record<Shell, {file: string; how: string; marker: string}> = {
  bash: {file: '.bashrc', how: 'eval "$(keyflow completion bash)"', marker: 'keyflow completion bash'},
  fish: {file: '.config/fish/completions/keyflow.fish', how: 'keyflow completion fish > ~/.config/fish/completions/keyflow.fish', marker: '__keyflow_complete'},
  zsh: {file: '.zshrc', how: 'source <(keyflow completion zsh)', marker: 'keyflow completion zsh'},
}

export function completionScript(shell: Shell): string {
  return readFileSync(new URL(`../../../completion/keyflow.${shell}`, import.meta.url), 'utf8')
}

/** The shell of $SHELL, if keyflow has a script for it. */
export function loginShell(env: NodeJS.ProcessEnv = process.env): Shell | undefined {
  const name = env.SHELL?.split('/').pop()
  return SHELLS.find((shell) => shell === name)
}
