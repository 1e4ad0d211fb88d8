// Preloaded with --require (NODE_OPTIONS) into a keyflow process: its wall clock (Date.now)
// steps back an hour every 50 ms from the start, as a clock set back again and again would
// (NTP, a VM resumed, a user). What keyflow schedules on Date.now is held for hours from its
// first step on; what it schedules on a monotonic clock (performance.now) is not touched.
/* global clearInterval, process, setInterval */
const realNow = Date.now
let back = 0
const stepper = setInterval(() => {
  back += 3_600_000
}, 50)
stepper.unref()
Date.now = () => realNow() - back
process.on('exit', () => clearInterval(stepper))
