import {DoctorReport} from './doctor.js'

const MARK = {info: '-', ok: 'ok', problem: 'PROBLEM'} as const

/** One line per check (a fix under it), then the verdict. stdout is never coloured; the marks are words. */
export function renderDoctor(report: DoctorReport): string {
  const lines = report.checks.flatMap((check) => [
    `${MARK[check.status].padEnd(8)} ${check.area.padEnd(11)} ${check.detail}`,
    ...(check.fix && check.status !== 'ok' ? [`${' '.repeat(21)}fix: ${check.fix}`] : []),
  ])
  const problems = report.checks.filter((check) => check.status === 'problem').length
  lines.push('', problems === 0 ? 'Nothing is wrong.' : `${problems} problem${problems === 1 ? '' : 's'} found.`)
  return lines.join('\n') + '\n'
}

