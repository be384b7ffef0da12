"""The admin site: staff only, and only once this session passed a second factor."""

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from accessgov.mfa import views


class VerifiedAdminSite(admin.AdminSite):
    """Django's admin that treats staff not verified by a second factor as not staff (case 48)."""

    def has_permission(self, request: HttpRequest) -> bool:
        """Return whether REQUEST's user is active staff verified with a second factor."""
        is_verified = getattr(request.user, "is_verified", None)
        return super().has_permission(request) and callable(is_verified) and is_verified()

    def login(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        """Sign in through the console's two steps; staff without a factor are sent to add one."""
        user = request.user
        if user.is_authenticated and user.is_active and user.is_staff and not self.has_permission(request):
            # Signed in with a password only (no factor yet): the admin stays shut until they add one.
            return redirect("mfa:manage_mfa")
        if request.method == "GET" and self.has_permission(request):
            return redirect("admin:index")
        return views.admin_sign_in(request)
