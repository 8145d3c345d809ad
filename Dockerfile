# The PartnerFlow image: worker, link server and CLI (the command chooses which).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY domain domain
COPY infra infra
COPY workflows workflows
COPY activities activities
COPY starter starter
COPY templates templates
COPY locales locales
COPY worker.py alembic.ini ./
# Editable: templates and migrations are read from /app at run time.
# The catalogs are compiled here, as `make` does on a development machine (.mo is not committed).
RUN pip install -e . && pybabel compile -D messages -d locales && useradd --system --uid 10001 partnerflow
USER partnerflow
EXPOSE 8080 9464 9465
CMD ["partnerflow", "worker"]
