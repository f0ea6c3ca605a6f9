# greenrpc serving the Arith example on port 8096; any other service: override the command, e.g.
#   docker run -v $PWD:/srv -e PYTHONPATH=/srv greenrpc serve mymodule:MyService
FROM python:3.11-slim

WORKDIR /app
COPY pyproject.toml README.md ./
COPY greenrpc ./greenrpc
RUN pip install --no-cache-dir . && rm -rf /root/.cache
COPY examples/arith.py ./examples/

RUN groupadd --system --gid 10001 greenrpc \
 && useradd --system --uid 10001 --gid greenrpc --no-create-home --shell /usr/sbin/nologin greenrpc
USER 10001

ENV PYTHONPATH=/app/examples \
    PYTHONUNBUFFERED=1 \
    GREENRPC_LISTEN=0.0.0.0:8096
EXPOSE 8096
# docker stop sends SIGTERM: calls already read finish and answer before the process exits.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["python", "-c", "import os, socket; port = os.environ['GREENRPC_LISTEN'].rpartition(':')[2]; socket.create_connection(('127.0.0.1', int(port)), 2).close()"]
ENTRYPOINT ["greenrpc"]
CMD ["serve", "arith:Arith"]
