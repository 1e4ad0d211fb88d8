#!/usr/bin/env python3
"""A Prefect-1-style flow that needs no Prefect install.

Prefect 1 reads local secrets from PREFECT__CONTEXT__SECRETS__<NAME> variables into
prefect.context.secrets, keeping the name's case, and Secret(name).get() decodes JSON
values. This file does the same with the standard library, so it runs anywhere under:

    keyflow run --secret DB_PASSWORD --secret API_TOKEN -- python3 flow.py

With Prefect 1 installed, `from prefect.client import Secret; Secret("DB_PASSWORD").get()`
reads exactly the same variables.
"""
import json
import os
import sys

PREFIX = "PREFECT__CONTEXT__SECRETS__"


def context_secrets():
    """What prefect.context.secrets holds: the names after the prefix, case kept."""
    return {name[len(PREFIX):]: value for name, value in os.environ.items() if name.startswith(PREFIX)}


def get_secret(name):
    """Secret(name).get() for local secrets: exact name, JSON decoded when it parses."""
    secrets = context_secrets()
    if name not in secrets:
        raise ValueError(f'Local Secret "{name}" was not found.')
    try:
        return json.loads(secrets[name])
    except ValueError:
        return secrets[name]


def extract(password, token):
    """A task: proves it has credentials without revealing them."""
    return {"password_length": len(password), "token_length": len(token)}


def main():
    names = sys.argv[1:] or ["DB_PASSWORD", "API_TOKEN"]
    try:
        password, token = (get_secret(name) for name in names[:2])
    except ValueError as error:
        print(f"flow failed: {error}", file=sys.stderr)
        return 1
    print(f"prefect1-flow: {len(context_secrets())} context secrets available")
    print(f"prefect1-flow: extract -> {json.dumps(extract(str(password), str(token)))}")
    # A careless log line, as flows have: keyflow masks it when output is not a terminal.
    print(f"prefect1-flow: connecting with password {password}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
