import {KeyflowError} from '../../src/lib/errors.js'

/** The KeyflowError a promise rejects with; anything else (or no rejection) fails the test. */
export async function rejected(promise: Promise<unknown>): Promise<KeyflowError> {
  try {
    await promise
  } catch (error) {
    if (error instanceof KeyflowError) return error
    throw error
  }

  throw new Error('expected a KeyflowError')
}

/** A registered type with 20 independent string fields: 20 writers can each change their own. */
export const wideType = {
  fields: {properties: Object.fromEntries(Array.from({length: 20}, (_, index) => [`f${index}`, {type: 'string'}])), type: 'object'},
  name: 'Wide',
  slug: 'wide',
}
