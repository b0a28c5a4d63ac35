"""``gunicorn -c config/gunicorn.conf.py bench.bare.wsgi:application``"""

import os

from django.core.wsgi import get_wsgi_application

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.bare.settings"
application = get_wsgi_application()

from .urls import log_requests_to_stderr  # noqa: E402 - once the settings are in place

log_requests_to_stderr()
