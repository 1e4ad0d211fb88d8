/// <reference types="mocha" />
import type {ValidateFunction} from 'ajv'

import {expect} from 'chai'
import {createRequire} from 'node:module'
import {join} from 'node:path'

import {BUILTIN_TYPES} from '../../../src/lib/block-types.js'
import {createAjv} from '../../../src/lib/block/types/definition.js'
import {ROOT} from '../../support/cli.js'

type Schema = {enum?: unknown[]; properties?: Record<string, Schema>; required?: string[]; type?: string}

/** Documents near a schema's edges: each field right, each field of the wrong type, each required one missing, an unknown one, an enum miss. */
function samples(schema: Schema): unknown[] {
  const valueOf = (field: Schema): unknown => field.enum?.[0] ?? (field.type === 'integer' || field.type === 'number' ? 7 : field.type === 'boolean' ? true : field.type === 'object' ? {} : 'text')
  const properties = Object.entries(schema.properties ?? {})
  const full = Object.fromEntries(properties.map(([name, field]) => [name, valueOf(field)]))
  return [
    full,
    {},
    [],
    'not an object',
    {...full, unknownField: 'x'},
    ...properties.map(([name]) => ({...full, [name]: 12_345})),
    ...properties.map(([name]) => ({...full, [name]: null})),
    ...(schema.required ?? []).map((name) => Object.fromEntries(Object.entries(full).filter(([key]) => key !== name))),
    ...properties.filter(([, field]) => field.enum).map(([name]) => ({...full, [name]: 'not-one-of-them'})),
  ]
}

/**
 * The build compiles the built-in types' validators ahead (scripts/validators.mjs), which
 * src/lib/block/documents/validate.ts uses instead of compiling at run time: each must judge
 * every document as Ajv compiling the type's schema now does, with the same errors.
 */
describe('the built-in types\' prebuilt validators', () => {
  const prebuilt = createRequire(import.meta.url)(join(ROOT, 'dist', 'builtin-validators.cjs')) as Record<string, undefined | ValidateFunction>
  const ajv = createAjv()

  for (const type of BUILTIN_TYPES.values()) {
    it(`${type.slug}: one under its slug and checksum, agreeing with Ajv on every sample`, () => {
      const ahead = prebuilt[`${type.slug}@${type.checksum}`]
      expect(ahead, 'no prebuilt validator for the current schema').to.be.a('function')
      const now = ajv.compile(type.fields)
      for (const sample of samples(type.fields as Schema)) {
        const verdict = ahead!(sample)
        expect(verdict, JSON.stringify(sample)).to.equal(now(sample))
        expect(ahead!.errors ?? null, JSON.stringify(sample)).to.deep.equal(now.errors ?? null)
      }
    })
  }
})
