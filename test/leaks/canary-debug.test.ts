import {canarySuite} from '../support/canary-cases.js'

// The canary suite (test/support/canary-cases.ts), with every debug switch on.
canarySuite('debug')
