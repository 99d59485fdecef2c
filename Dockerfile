# One image for the web (gunicorn) and the worker (`referral-service worker`).
#   docker build -t referral-service .
#   docker run -e DATABASE_URL=postgresql+psycopg://... -e SECRET_KEY=... referral-service
#   docker run ... referral-service referral-service worker
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md requirements.lock ./
COPY referral_service ./referral_service
RUN pip install --no-cache-dir --prefix=/install -c requirements.lock .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PORT=8000 LOG_FORMAT=json REFERRAL_HOME=/app
RUN useradd --create-home --uid 10001 app
COPY --from=build /install /usr/local
WORKDIR /app
COPY config ./config
COPY schemas ./schemas
USER app
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/healthz', timeout=2)"
# Web workers never run the scheduler; run `referral-service worker` as its own container.
CMD ["sh", "-c", "referral-service db upgrade && exec gunicorn --bind 0.0.0.0:${PORT} --workers 4 --threads 4 --worker-class gthread referral_service.wsgi:app"]
