import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

from city.hot_routes import HotRoutes

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "city.settings.dev")

application = get_wsgi_application()
if settings.CITY_HOT_ROUTES:
    application = HotRoutes(application)
