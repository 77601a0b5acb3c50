# renderer serve in a container.
#   docker build -t renderer .
#   docker run -p 8000:8000 -e RENDERER_API_KEYS=k1:pro renderer
#   docker run -p 8000:8000 renderer --allow-unauthenticated   # an open server (flags append)
# Two stages: the first builds renderer's wheel and collects its dependencies' wheels; the
# final image installs those alone, so it has no compiler, no build tools and no pip cache.

FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY renderer renderer
COPY fonts fonts
COPY schemas schemas
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[redis]"

FROM python:3.12-slim
# cairo is the one system library renderer needs (HarfBuzz and the codecs come in the wheels).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libcairo2 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels "renderer[redis]" \
    && rm -rf /wheels
# A numeric non-root user, so runAsNonRoot policies can check it.
RUN groupadd --system --gid 10001 renderer \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin renderer
USER 10001:10001
ENV PYTHONUNBUFFERED=1
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
# 0.0.0.0 inside the container; renderer serve refuses it without API keys unless
# --allow-unauthenticated is passed.
ENTRYPOINT ["renderer", "serve", "--host", "0.0.0.0", "--port", "8000"]
