import {createHash, createPublicKey, verify} from 'node:crypto'

/** A user the test server knows, with the credentials it accepts for each authenticator. */
export interface FakeUser {
  name: string
  /** A programmatic/OAuth access token accepted by the OAUTH authenticator. */
  oauthToken?: string
  password?: string
  /** PEM public key for SNOWFLAKE_JWT (key-pair) logins. */
  publicKey?: string
}

export interface LoginData {
  ACCOUNT_NAME?: string
  AUTHENTICATOR?: string
  LOGIN_NAME?: string
  PASSWORD?: string
  TOKEN?: string
}

export interface LoginFailure {
  code: string
  message: string
}

const BAD_PASSWORD: LoginFailure = {code: '390100', message: 'Incorrect username or password was specified.'}

/** RS256 signature, issuer (with the key's SHA-256 fingerprint), subject and expiry, as Snowflake checks them. */
function jwtValid(token: string, publicKeyPem: string, account: string, user: string): boolean {
  const [header, payload, signature] = token.split('.')
  if (!header || !payload || !signature) return false
  const key = createPublicKey(publicKeyPem)
  if (!verify('RSA-SHA256', Buffer.from(`${header}.${payload}`), key, Buffer.from(signature, 'base64url'))) return false
  let claims: {exp?: number; iss?: string; sub?: string}
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
  } catch {
    return false
  }

  const fingerprint = 'SHA256:' + createHash('sha256').update(key.export({format: 'der', type: 'spki'})).digest('base64')
  const subject = `${account.toUpperCase()}.${user.toUpperCase()}`
  // snowflake-sdk 3.3.0 writes exp in milliseconds; accept seconds too.
  const expiry = (claims.exp ?? 0) < 1e12 ? (claims.exp ?? 0) * 1000 : (claims.exp ?? 0)
  return claims.sub === subject && claims.iss === `${subject}.${fingerprint}` && expiry > Date.now()
}

/** Checks a login-request body against the known users; undefined means accepted. */
export function checkLogin(users: FakeUser[], data: LoginData): LoginFailure | undefined {
  const user = users.find((candidate) => candidate.name.toUpperCase() === (data.LOGIN_NAME ?? '').toUpperCase())
  const authenticator = (data.AUTHENTICATOR ?? 'SNOWFLAKE').toUpperCase()
  switch (authenticator) {
    case 'OAUTH': {
      return user?.oauthToken !== undefined && data.TOKEN === user.oauthToken
        ? undefined
        : {code: '390303', message: 'Invalid OAuth access token.'}
    }

    case 'SNOWFLAKE': {
      return user?.password !== undefined && data.PASSWORD === user.password ? undefined : BAD_PASSWORD
    }

    case 'SNOWFLAKE_JWT': {
      return user?.publicKey && data.TOKEN && jwtValid(data.TOKEN, user.publicKey, data.ACCOUNT_NAME ?? '', user.name)
        ? undefined
        : {code: '390144', message: 'JWT token is invalid.'}
    }

    default: {
      return {code: '390100', message: `Authenticator ${authenticator} is not supported by the keyflow test server.`}
    }
  }
}
