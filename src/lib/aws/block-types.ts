/* eslint-disable camelcase -- field names are prefect-aws's (snake_case), so documents match its blocks one to one */
import type {BlockTypePack} from '../block/types/builtin.js'

import {secretString, text} from '../block/types/builtin.js'

/** prefect-aws's `AwsCredentials` and `AwsSecret` blocks, with their field names. */

export interface AwsClientParameters {
  api_version?: string
  config?: Record<string, unknown>
  endpoint_url?: string
  use_ssl?: boolean
  verify?: boolean | string
  verify_cert_path?: string
}

export interface AwsCredentialsBlock {
  assume_role_arn?: string
  assume_role_kwargs?: Record<string, unknown>
  aws_access_key_id?: string
  aws_client_parameters?: AwsClientParameters
  aws_secret_access_key?: string
  aws_session_token?: string
  profile_name?: string
  region_name?: string
}

export interface AwsSecretBlock {
  aws_credentials: AwsCredentialsBlock
  secret_name: string
}

export const AWS_BLOCK_TYPES: BlockTypePack = {
  collections: ['aws', 'prefect-aws', 'prefect_aws'],
  definitions: [
    {
      description:
        'Block used to manage authentication with AWS. Fields left blank are taken from the standard AWS credential chain (environment, shared files, SSO, instance metadata); fields set on the block win.',
      fields: {
        properties: {
          assume_role_arn: text('Assume Role ARN', 'A role to assume with STS after the session is built.'),
          assume_role_kwargs: {description: 'Further AssumeRole parameters (RoleSessionName, DurationSeconds, ExternalId, ...).', title: 'Assume Role Parameters', type: 'object'},
          aws_access_key_id: text('AWS Access Key ID', 'A specific AWS access key ID.'),
          aws_client_parameters: {
            additionalProperties: false,
            description: 'Extra parameters to initialize the client with.',
            properties: {
              api_version: text('API Version'),
              config: {description: 'Client configuration, as botocore Config.', title: 'Botocore Config', type: 'object'},
              endpoint_url: text('Endpoint URL', 'The complete URL for the client, e.g. a VPC endpoint or a local emulator.'),
              use_ssl: {default: true, title: 'Use SSL', type: 'boolean'},
              verify: {anyOf: [{type: 'boolean'}, {type: 'string'}], default: true, title: 'Verify'},
              verify_cert_path: text('Certificate Authority Bundle File Path'),
            },
            title: 'AWS Client Parameters',
            type: 'object',
          },
          aws_secret_access_key: secretString('AWS Access Key Secret', 'A specific AWS secret access key.'),
          aws_session_token: secretString('AWS Session Token', 'The session key for temporary credentials.'),
          profile_name: text('Profile Name', 'The profile to use when creating the session.'),
          region_name: text('Region Name', 'The AWS Region; it wins over AWS_REGION and the profile.'),
        },
        type: 'object',
      },
      name: 'AWS Credentials',
      secretFields: ['aws_secret_access_key', 'aws_session_token'],
      slug: 'aws-credentials',
      version: '1',
    },
    {
      description: 'Manages a secret in AWS Secrets Manager.',
      fields: {
        properties: {
          aws_credentials: {blockType: 'aws-credentials', title: 'AWS Credentials'},
          secret_name: text('Secret Name', 'The name (or ARN) of the secret to manage.'),
        },
        required: ['aws_credentials', 'secret_name'],
        type: 'object',
      },
      name: 'AWS Secret',
      slug: 'aws-secret',
      version: '1',
    },
  ],
}
