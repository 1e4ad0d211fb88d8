import {canarySuite} from '../support/canary-cases.js'

// The canary suite (test/support/canary-cases.ts), with every block in the aws store (moto).
canarySuite('aws')
