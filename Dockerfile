# zonescope: build a wheel, then install it into a slim runtime image that runs as a non-root user.
# Build: docker build -t zonescope .    Run: docker run -p 8000:8000 zonescope

FROM python:3.11-slim-bookworm AS builder
WORKDIR /src
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
COPY pyproject.toml README.md ./
COPY app ./app
COPY simcore ./simcore
COPY scenarios ./scenarios
COPY static ./static
COPY templates ./templates
RUN pip wheel --no-deps --wheel-dir /wheels .

FROM python:3.11-slim-bookworm AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN groupadd --system --gid 10001 zonescope \
    && useradd --system --uid 10001 --gid 10001 --home-dir /app --shell /usr/sbin/nologin zonescope
WORKDIR /app
COPY --from=builder /wheels /wheels
RUN pip install /wheels/*.whl && rm -rf /wheels
# presets, templates and static files are package data inside the wheel (app.scenarios, ...)
RUN python -c "from app.presets import preset_names; from app.main import create_app; assert preset_names(); create_app()" \
    && chown zonescope:zonescope /app
# numba caches the compiled core where the runtime user can write; warmed once here
ENV NUMBA_CACHE_DIR=/app/numba-cache
USER 10001:10001
RUN python -m simcore.kernels.warm
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request, sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]
CMD ["zonescope", "serve", "--host", "0.0.0.0", "--port", "8000"]
