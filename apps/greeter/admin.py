from django.contrib import admin

from apps.greeter.models import Newcomer, Welcome


@admin.register(Newcomer)
class NewcomerAdmin(admin.ModelAdmin):
    list_display = ["user", "email", "language", "registered_at"]
    list_filter = ["language"]
    search_fields = ["user__username", "email"]
    readonly_fields = ["registered_at"]


@admin.register(Welcome)
class WelcomeAdmin(admin.ModelAdmin):
    list_display = ["user", "occasion", "language", "lease_id", "created_at"]
    list_filter = ["occasion", "language"]
    search_fields = ["user__username", "message"]
    readonly_fields = ["created_at"]
