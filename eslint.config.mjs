import {includeIgnoreFile} from '@eslint/compat'
import oclif from 'eslint-config-oclif'
import prettier from 'eslint-config-prettier'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const gitignorePath = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '.gitignore')

export default [
  includeIgnoreFile(gitignorePath),
  ...oclif,
  prettier,
  {
    rules: {
      // fetch is stable enough on Node 20.20 for the test harness and is never used by keyflow itself.
      'n/no-unsupported-features/node-builtins': ['error', {ignores: ['fetch']}],
    },
  },
  {
    files: ['test/**/*.ts'],
    languageOptions: {globals: {Mocha: 'readonly'}},
  },
]
