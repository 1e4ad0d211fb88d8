import {spawn} from '@lydell/node-pty'
import {readFileSync} from 'node:fs'
const [shell, ...pre] = process.argv[2].split(' ')
const script = process.argv[3]
const t = spawn(shell, [...pre, '-c', script, 'helper', 'cat'], {cols: 80, rows: 24, env: process.env})
let out=''; t.onData(d => { out += d })
t.onExit(e => { out += '|exit ' + JSON.stringify(e) })
setTimeout(() => t.write('hello\r'), 300)
setTimeout(() => t.write('\x1a'), 600)
setTimeout(() => { out += '|state:' + (state()) ; process.kill(t.pid, 'SIGCONT') }, 900)
setTimeout(() => t.write('again\r'), 1200)
setTimeout(() => t.write('\x04'), 1400)
setTimeout(() => { console.log(JSON.stringify(out)); t.kill('SIGKILL'); process.exit(0) }, 2000)
function state() { return readFileSync(`/proc/${t.pid}/stat`, 'utf8').split(') ')[1].split(' ')[0] }
