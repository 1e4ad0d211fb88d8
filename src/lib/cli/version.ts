import isWsl from 'is-wsl'
import {arch, platform} from 'node:os'

import {wantsJson} from './unknown-command.js'

/**
 * `keyflow --version` and `keyflow --version --json` (or `--json --version`): the one rule both
 * of bin/run.js's paths answer them by, the fast path (src/fast-path.ts) without loading oclif
 * and the oclif path in its init hook (src/hooks/version-json.ts), before oclif would print its
 * own. The text is oclif's user agent, made of the parts oclif's Config makes it of: the
 * package's name and version, the platform (`wsl` under Windows' Linux, by the is-wsl oclif's
 * wsl-utils uses), the architecture (`x86` for ia32) and Node's version. Like oclif, the text
 * form is asked for by --version as the first word only. Undefined: not a version question.
 */
export function versionAnswer(words: string[], pjson: {name: string; version: string}): string | undefined {
  const json = wantsJson(words)
  if (json ? words.find((word) => word !== '--json') !== '--version' : words[0] !== '--version') return undefined
  const version = {
    arch: arch() === 'ia32' ? 'x86' : arch(),
    name: pjson.name,
    node: process.version,
    platform: isWsl ? 'wsl' : platform(),
    version: pjson.version,
  }
  return json ? JSON.stringify(version, null, 2) + '\n' : `${version.name}/${version.version} ${version.platform}-${version.arch} node-${version.node}\n`
}
