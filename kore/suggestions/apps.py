from django.apps import AppConfig


class SuggestionsConfig(AppConfig):
    name = "kore.suggestions"
    label = "suggestions"
    verbose_name = "Category suggestions"
