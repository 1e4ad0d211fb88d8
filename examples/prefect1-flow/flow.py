#!/usr/bin/env python3
"""A Prefect-1-style flow that needs no Prefect install.

Prefect 1 reads local secrets from PREFECT__CONTEXT__SECRETS__<NAME> variables into
prefect.context.secrets, and Secret(name).get() decodes JSON values. On the way its config
loader (prefect/configuration.py, branch 1.x) rewrites each value; `load_context_secrets`
below applies the same rules, in the same order, with the same standard-library calls, so
this file runs anywhere under:

    keyflow run --secret DB_PASSWORD --secret API_TOKEN -- python3 flow.py

What it leaves out: Prefect's packaged config.toml and ~/.prefect/config.toml. Only the
environment is read, so a `${a.b}` reference to a key set there (e.g. ${server.host}) becomes
"" here and that key's value in Prefect. Everything else matches; keyflow warns before the
run about every value these rules change (docs/compat.md "Prefect 1").
"""
import json
import os
import re
import sys
from ast import literal_eval

ENV_PREFIX = "PREFECT__"
INTERPOLATION = re.compile(r"\${(.[^${}]*)}")


def string_to_type(val):
    if val.upper() == "TRUE":
        return True
    if val.upper() == "FALSE":
        return False
    try:
        return literal_eval(val)
    except Exception:
        return val


def interpolate_env_vars(value):
    if not value or not isinstance(value, str):
        return value
    for counter in range(10):
        interpolated = os.path.expanduser(os.path.expandvars(str(value)))
        if interpolated == value:
            return string_to_type(interpolated) if counter > 1 else interpolated
        value = interpolated
    return None


def config_key(variable):
    option = variable[len(ENV_PREFIX):]
    if option.upper().startswith("CONTEXT__SECRETS"):
        return tuple(option.replace("CONTEXT__SECRETS", "context__secrets").split("__"))
    return tuple(option.lower().split("__"))


def load_context_secrets():
    """prefect.context.secrets as Prefect 1's loader builds it from the environment."""
    flat = {}
    for variable, value in os.environ.items():
        if variable.startswith(ENV_PREFIX):
            flat[config_key(variable)] = string_to_type(interpolate_env_vars(value))
    for key, value in list(flat.items()):
        value = interpolate_env_vars(value)
        flat[key] = string_to_type(value) if isinstance(value, str) else value
    pending = set(flat)
    for _ in range(10):
        for key in list(pending):
            match = INTERPOLATION.search(flat[key]) if isinstance(flat[key], str) else None
            if not match:
                pending.remove(key)
                continue
            reference = flat.get(tuple(match.group(1).split(".")), "")
            flat[key] = reference if flat[key] == match.group(0) else flat[key].replace(match.group(0), str(reference), 1)
    secrets = {}
    for key, value in flat.items():
        if key[:2] != ("context", "secrets"):
            continue
        node = secrets
        for part in key[2:-1]:
            node = node.setdefault(part, {})
        node[key[-1]] = value
    return secrets


def get_secret(name):
    """Secret(name).get() for local secrets: exact name, a string JSON-decoded when it parses."""
    secrets = load_context_secrets()
    if name not in secrets:
        raise ValueError(f'Local Secret "{name}" was not found.')
    value = secrets[name]
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


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
    print(f"prefect1-flow: {len(load_context_secrets())} context secrets available")
    print(f"prefect1-flow: extract -> {json.dumps(extract(str(password), str(token)))}")
    # A careless log line, as flows have: keyflow masks it when output is not a terminal.
    print(f"prefect1-flow: connecting with password {password}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
