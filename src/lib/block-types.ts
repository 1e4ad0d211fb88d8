import {AWS_BLOCK_TYPES} from './aws/block-types.js'
import {compileBuiltins, SECRET_TYPES} from './block/types/builtin.js'
import {SNOWFLAKE_BLOCK_TYPES} from './snowflake/block-types.js'

/**
 * The built-in block types, each pack defined next to its domain and registered here, so the
 * block domain never imports the domains that use it. The composition root (invocation.ts)
 * loads this only for block work.
 */
export const BUILTIN_BLOCK_TYPES = compileBuiltins([SECRET_TYPES, AWS_BLOCK_TYPES, SNOWFLAKE_BLOCK_TYPES])

export const BUILTIN_TYPES = BUILTIN_BLOCK_TYPES.types
