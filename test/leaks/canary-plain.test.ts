import {canarySuite} from '../support/canary-cases.js'

// The canary suite (test/support/canary-cases.ts), plainly.
canarySuite('plain')
