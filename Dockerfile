# greenrpc serving the Arith example on port 8096. Another service: mount it and name it, e.g.
#   docker run -v $PWD:/srv:ro -e PYTHONPATH=/srv greenrpc serve mymodule:MyService
# Configured by environment: GREENRPC_LISTEN, GREENRPC_LOG_FORMAT, GREENRPC_LOG_LEVEL and the
# limits (see `greenrpc serve --help`).
FROM python:3.11-slim

WORKDIR /app
COPY pyproject.toml README.md ./
COPY greenrpc ./greenrpc
# One layer: the build tree and the dependencies' own test suites (about 4 MB) go away with
# it, and pip keeps no cache.
RUN pip install --no-cache-dir --disable-pip-version-check . \
 && site=$(python -c "import gevent, os; print(os.path.dirname(os.path.dirname(gevent.__file__)))") \
 && rm -rf "$site"/gevent/tests "$site"/gevent/testing "$site"/greenlet/tests \
      "$site"/zope/interface/tests "$site"/zope/interface/common/tests \
      /app/greenrpc /app/build /root/.cache
COPY examples/arith.py ./examples/

RUN groupadd --system --gid 10001 greenrpc \
 && useradd --system --uid 10001 --gid greenrpc --no-create-home --shell /usr/sbin/nologin greenrpc
USER 10001

ENV PYTHONPATH=/app/examples \
    PYTHONUNBUFFERED=1 \
    GREENRPC_LISTEN=0.0.0.0:8096
EXPOSE 8096
# docker stop sends SIGTERM: calls already read finish and answer before the process exits;
# give `docker stop --time` more than the slowest call takes (the default is 10 s).
STOPSIGNAL SIGTERM
# GET /healthz on the first TCP address of GREENRPC_LISTEN: 200 serving, 503 draining.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["greenrpc", "health"]
ENTRYPOINT ["greenrpc"]
CMD ["serve", "arith:Arith"]
