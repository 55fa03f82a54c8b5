# syntax=docker/dockerfile:1
# cosei-ib production image (issue 14; docs/operations.md). Two stages:
#   build    installs the production lock (requirements.lock) into /opt/venv and runs
#            collectstatic with the production profile;
#   runtime  the same slim Python, the venv, the code and the collected static files,
#            run as an unprivileged user that owns nothing in /app.
# Only requirements.lock is installed: no Playwright, no embedded PostgreSQL, no pytest or
# time-machine (those are in requirements-dev.lock, which .dockerignore keeps out).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
COPY requirements.lock /tmp/requirements.lock
# every dependency is pinned in the lock: --no-deps so nothing unpinned slips in
RUN /opt/venv/bin/pip install --no-deps -r /tmp/requirements.lock
WORKDIR /app
COPY . /app
# collectstatic needs the production profile's storage (hashed, pre-compressed names);
# the key and host here exist only for this build step and are not kept in the image
RUN DJANGO_SETTINGS_MODULE=cosei_ib.settings.prod \
    DJANGO_SECRET_KEY=collectstatic-build-only \
    DJANGO_ALLOWED_HOSTS=build.invalid \
    /opt/venv/bin/python manage.py collectstatic --no-input -v 0 \
    && /opt/venv/bin/python -m compileall -q /app

FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=cosei_ib.settings.prod
RUN groupadd --system --gid 10001 cosei \
    && useradd --system --uid 10001 --gid cosei --home-dir /nonexistent --no-create-home \
       --shell /usr/sbin/nologin cosei
COPY --from=build /opt/venv /opt/venv
# code and static files stay root-owned: the app's user can read them, not change them
COPY --from=build /app /app
WORKDIR /app
USER cosei:cosei
EXPOSE 8000
# the web: gunicorn behind the TLS proxy (docker-compose.yml); the worker and the one-shot
# migrate override the command with manage.py
CMD ["gunicorn", "cosei_ib.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", \
     "--access-logfile", "-", "--forwarded-allow-ips", "*"]
