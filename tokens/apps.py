from django.apps import AppConfig


class TokensConfig(AppConfig):
    name = "tokens"

    def ready(self) -> None:
        # The policy floor owns the cap on live credentials but may not import tokens: it asks.
        from accessgov.policy.access import live_credentials_counted
        from tokens.models import count_live_tokens

        live_credentials_counted.connect(count_live_tokens, dispatch_uid="tokens-live-credentials")
