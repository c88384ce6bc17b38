# The credit-union bank sandbox: `docker run -p 8080:8080 <image>`, then open
# http://127.0.0.1:8080/docs. Mount your scenarios and point SANDBOX_SCENARIO at them:
#   docker run -p 8080:8080 -v "$PWD/scenarios:/scenarios:ro" \
#     -e SANDBOX_SCENARIO=/scenarios/default.yaml <image>
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Time zones come from the tzdata wheel (a project dependency), so no apt packages are needed.
COPY pyproject.toml README.md LICENSE ./
COPY sandbox ./sandbox
# The bundled scenarios: installed into the package as sandbox/scenarios (see pyproject).
COPY scenarios ./scenarios
RUN pip install --no-cache-dir . \
    && groupadd --system --gid 10001 sandbox \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin sandbox

COPY --chown=10001:10001 scenarios /scenarios

USER 10001:10001

EXPOSE 8080

HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/_sandbox/health', timeout=2).status == 200 else 1)"]

CMD ["sandbox", "serve", "--host", "0.0.0.0", "--port", "8080"]
