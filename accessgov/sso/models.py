"""Which identity-provider account is which console account."""

from django.conf import settings
from django.db import models


class ProviderAccount(models.Model):
    """One person at the identity provider (issuer and subject), linked to one console account.

    The link is made at the first sign-in through the provider and is what every later sign-in
    matches on: the subject never changes at the provider, where an e-mail address may.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="provider_accounts"
    )
    issuer = models.CharField(max_length=300)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="unique_provider_subject"),
            # One identity per provider for each account: a second would be someone else's.
            models.UniqueConstraint(fields=["user", "issuer"], name="unique_provider_account_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"
