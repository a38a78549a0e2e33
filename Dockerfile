# The console's image: the runtime requirements only (no demo graph server), static files
# collected at build, a non-root user, and the production command. One image for every process:
# compose.yaml picks the process with `--processes`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    SWITCHBOARD_VAR_DIR=/app/var \
    STATIC_ROOT=/app/collected-static \
    PORT=8000

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# collectstatic runs the production settings, which want their secrets: throwaway ones that exist
# only in this step (the hashed file names do not depend on them).
RUN SECRET_KEY=build-only-secret-key-that-is-never-used-to-sign-anything-at-all \
    FIELD_ENCRYPTION_KEY=YnVpbGQtb25seS1rZXktZW5jcnlwdHMtbm90aGluZyE= \
    ALLOWED_HOSTS=build \
    python manage.py collectstatic --no-input \
 && useradd --system --uid 10001 --home-dir /app switchboard \
 && mkdir -p /app/var \
 && chown switchboard /app/var

USER switchboard
EXPOSE 8000
CMD ["python", "-m", "dashboard.launcher", "serve"]
