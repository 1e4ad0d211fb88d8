// Preloaded with --require (NODE_OPTIONS) into a keyflow process: a timer of a minute that
// keeps the event loop alive, as work a failed resolution leaves behind does (an AWS retry's
// backoff once --aws-total-timeout has ended the resolution). A test sees whether keyflow
// ends once its answer is given rather than when the event loop empties.
/* global setTimeout */
setTimeout(() => {}, 60_000)
