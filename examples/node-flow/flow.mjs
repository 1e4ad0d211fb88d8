#!/usr/bin/env node
/**
 * A Node flow reading its secrets the Prefect 1 way: PREFECT__CONTEXT__SECRETS__<NAME>,
 * names case-sensitive, JSON values decoded. Run it under keyflow:
 *
 *   keyflow run --secret DB_PASSWORD --secret API_TOKEN -- node flow.mjs
 */
const PREFIX = 'PREFECT__CONTEXT__SECRETS__'

function contextSecrets() {
  return Object.fromEntries(
    Object.entries(process.env)
      .filter(([name]) => name.startsWith(PREFIX))
      .map(([name, value]) => [name.slice(PREFIX.length), value]),
  )
}

function getSecret(name) {
  const secrets = contextSecrets()
  if (!Object.hasOwn(secrets, name)) throw new Error(`Local Secret "${name}" was not found.`)
  try {
    return JSON.parse(secrets[name])
  } catch {
    return secrets[name]
  }
}

function main(names) {
  let password
  let token
  try {
    ;[password, token] = names.slice(0, 2).map((name) => getSecret(name))
  } catch (error) {
    console.error(`flow failed: ${error.message}`)
    return 1
  }

  console.log(`node-flow: ${Object.keys(contextSecrets()).length} context secrets available`)
  console.log(`node-flow: extract -> ${JSON.stringify({passwordLength: String(password).length, tokenLength: String(token).length})}`)
  // A careless log line, as flows have: keyflow masks it when output is not a terminal.
  console.log(`node-flow: connecting with password ${password}`)
  return 0
}

process.exitCode = main(process.argv.length > 2 ? process.argv.slice(2) : ['DB_PASSWORD', 'API_TOKEN'])
