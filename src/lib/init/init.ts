import {parse as parseDotenv} from 'dotenv'
import {closeSync, existsSync, openSync, readFileSync, writeSync} from 'node:fs'
import {join} from 'node:path'

import {describeFsError, errnoCode, ExitCode, KeyflowError} from '../errors.js'
import {SOURCE_KINDS} from '../secret/sources/index.js'
import {keyflowHome, PROJECT_FILE_NAME} from '../settings/settings.js'
import {ensureTrustedDir} from '../util/trusted-file.js'

/**
 * `keyflow init`: what a project needs to start with keyflow, inferred from the directory,
 * never overwriting anything:
 * - keyflow.json, whose run section declares the names of the first example dotenv file found
 *   (.env.example, .env.sample, .env.template), else of .env: names only, never values;
 * - $KEYFLOW_HOME/secrets.env (0600 in a 0700 directory) when absent, for secrets kept out of
 *   every project;
 * - an entry for .env in the project's .gitignore, unless one already covers it.
 */

export interface InitStep {
  action: 'appended' | 'created' | 'kept'
  path: string
  what: string
}

export interface InitPlan {
  /** Where the declared names came from, if anywhere. */
  namesFrom?: string
  projectFile: {content: string; path: string}
  steps: Array<InitStep & {write?: () => void}>
}

const EXAMPLE_FILES = ['.env.example', '.env.sample', '.env.template', '.env']
const GITIGNORE_COVERS_ENV = new Set(['*.env', '.env', '.env*', '/.env', '/.env*'])

export function planInit(cwd: string, env: NodeJS.ProcessEnv = process.env): InitPlan {
  const projectPath = join(cwd, PROJECT_FILE_NAME)
  if (existsSync(projectPath)) {
    throw new KeyflowError(`${PROJECT_FILE_NAME} already exists here; keyflow init never overwrites it.`, {
      code: 'ALREADY_EXISTS',
      exit: ExitCode.CONFLICT,
      fix: 'Edit it (docs/run.md "The project file"), or remove it and run `keyflow init` again; `keyflow doctor` checks it.',
      where: projectPath,
    })
  }

  const {names, namesFrom} = declaredNames(cwd)
  // Settings first, then the run section, as people read a keyflow.json.
  // eslint-disable-next-line perfectionist/sort-objects
  const content = JSON.stringify({sources: [...SOURCE_KINDS], run: {secrets: Object.fromEntries(names.map((name) => [name, name]))}}, null, 2) + '\n'
  const steps: InitPlan['steps'] = [
    {
      action: 'created',
      path: projectPath,
      what: namesFrom ? `declares ${names.length} secret${names.length === 1 ? '' : 's'} named in ${namesFrom}` : 'declares no secret yet',
      write: () => writeNew(projectPath, content, 0o644),
    },
  ]

  const home = keyflowHome(env)
  const secretsFile = join(home, 'secrets.env')
  steps.push(
    existsSync(secretsFile)
      ? {action: 'kept', path: secretsFile, what: 'already there'}
      : {
          action: 'created',
          path: secretsFile,
          what: 'private (0600), read after ./.env',
          write() {
            ensureTrustedDir(home, {followLink: true, what: 'keyflow home (KEYFLOW_HOME)'})
            writeNew(secretsFile, '# Secrets for keyflow, NAME=value per line (dotenv syntax), read after ./.env.\n# Keep this file 0600: keyflow doctor checks it.\n', 0o600)
          },
        },
  )

  const gitignore = join(cwd, '.gitignore')
  const ignored = existsSync(gitignore) ? readFileSync(gitignore, 'utf8') : undefined
  if (ignored !== undefined && ignored.split(/\r?\n/).some((line) => GITIGNORE_COVERS_ENV.has(line.trim()))) {
    steps.push({action: 'kept', path: gitignore, what: '.env is already ignored'})
  } else {
    const entry = `${ignored === undefined || ignored === '' || ignored.endsWith('\n') ? '' : '\n'}# local secrets (keyflow init)\n.env\n`
    steps.push({
      action: ignored === undefined ? 'created' : 'appended',
      path: gitignore,
      what: 'ignores .env',
      write: () => writeNew(gitignore, entry, 0o644, ignored !== undefined),
    })
  }

  return {namesFrom, projectFile: {content, path: projectPath}, steps}
}

/** What init would do (or did), one line per file, for people. */
export function renderInit(steps: InitStep[], done: boolean): string {
  const verb = (action: InitStep['action']) => (done ? action : {appended: 'append to', created: 'create', kept: 'keep'}[action])
  const lines = steps.map((step) => `${verb(step.action).padEnd(done ? 8 : 9)} ${step.path}: ${step.what}`)
  return lines.join('\n') + '\n' + (done ? 'Next: put secrets in .env or the secrets.env above (or AWS), then run `keyflow doctor`.\n' : '')
}

/** Carries out a plan made by planInit: every file is created exclusively, so nothing is ever overwritten. */
export function applyInit(plan: InitPlan): InitStep[] {
  return plan.steps.map(({write, ...step}) => {
    write?.()
    return step
  })
}

function declaredNames(cwd: string): {names: string[]; namesFrom?: string} {
  for (const file of EXAMPLE_FILES) {
    let text: string
    try {
      text = readFileSync(join(cwd, file), 'utf8')
    } catch {
      continue
    }

    // Names only: the values of .env (or of an example someone filled in) are never read into output.
    return {names: Object.keys(parseDotenv(text)).sort(), namesFrom: file}
  }

  return {names: []}
}

function writeNew(path: string, content: string, mode: number, append = false): void {
  let fd: number
  try {
    fd = openSync(path, append ? 'a' : 'wx', mode)
  } catch (error) {
    if (errnoCode(error) === 'EEXIST') {
      throw new KeyflowError('The file appeared while keyflow init ran; nothing was overwritten.', {cause: error, code: 'ALREADY_EXISTS', exit: ExitCode.CONFLICT, where: path})
    }

    throw new KeyflowError(`Cannot write the file: ${describeFsError(error)}.`, {cause: error, code: 'INIT_WRITE_FAILED', exit: ExitCode.SOURCE_FAILURE, fix: 'Check the directory exists and is yours to write.', where: path})
  }

  try {
    writeSync(fd, content)
  } finally {
    closeSync(fd)
  }
}
