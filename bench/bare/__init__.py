"""The bare reference `make bench` measures Kore against: minimal Django, same database."""
