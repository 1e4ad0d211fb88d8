"""moto's server, as `python3 -m moto.server -H HOST -p PORT` runs it, with one request at a time.

moto's backends are not thread-safe. CreateSecret calls made at once now and then crash inside moto
("dictionary changed size during iteration"), answered with an HTML page no SDK can parse. And two
UpdateSecretVersionStage calls that move AWSCURRENT off the same version can both succeed, which
Secrets Manager never allows and keyflow's compare-and-swap (src/lib/secret/write/aws.ts) relies on.
One lock around each request gives the tests the consistency AWS gives. The server keeps a thread per
connection, so a request waiting for the lock never stops the others from being accepted.
"""
import argparse
import os
import signal
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    moto_app = DomainDispatcherApplication(create_backend_app)
    moto_app.debug = True
    lock = threading.Lock()

    def one_at_a_time(environ, start_response):
        with lock:
            body = moto_app(environ, start_response)
            try:
                return [b"".join(body)]
            finally:
                close = getattr(body, "close", None)
                if close is not None:
                    close()

    run_simple(args.host, args.port, one_at_a_time, threaded=True)


if __name__ == "__main__":
    main()
