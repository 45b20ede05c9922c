FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml ./
COPY config ./config
COPY accounts ./accounts
COPY scheduling ./scheduling
COPY bookings ./bookings
COPY notifications ./notifications
COPY integrations ./integrations
COPY reporting ./reporting
RUN pip install .
COPY . .
# Build-time values only, to load the production settings: the running container gets its own from the env.
RUN SECRET_KEY=collectstatic-only ALLOWED_HOSTS=build.invalid DJANGO_SETTINGS_MODULE=config.settings.prod \
    python manage.py collectstatic --noinput
RUN useradd --system --uid 1000 app && chown -R app /app
USER app
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
