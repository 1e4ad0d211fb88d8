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
    // The entry is CommonJS (bin/package.json), so a fast command never starts Node's ESM loader;
    // scripts/code-cache.cjs is the build step that shares its loader.
    files: ['bin/*.js', 'scripts/*.cjs'],
    languageOptions: {globals: {__dirname: 'readonly', __filename: 'readonly', module: 'writable', require: 'readonly'}, sourceType: 'commonjs'},
    rules: {
      '@typescript-eslint/no-require-imports': 'off',
      // A CommonJS file's top level is its module's scope, not the global one.
      'no-implicit-globals': 'off',
      'unicorn/prefer-module': 'off',
      'unicorn/prefer-top-level-await': 'off',
    },
  },
  {
    // bin/package.json only sets the module type: the package whose dependencies and files count is the root's.
    files: ['bin/*'],
    rules: {'n/no-extraneous-import': 'off', 'n/no-unpublished-require': 'off'},
  },
  {
    files: ['test/**/*.ts'],
    languageOptions: {globals: {Mocha: 'readonly'}},
  },
]
