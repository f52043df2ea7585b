from django.contrib import admin

from apps.leasing.models import Application, Lease, Property, RentCharge, Unit
from apps.leasing.selectors import leases_with_overlaps


class UnitInline(admin.TabularInline):
    model = Unit
    extra = 0


@admin.register(Property)
class PropertyAdmin(admin.ModelAdmin):
    list_display = ["name", "city", "address", "manager", "created_at"]
    list_filter = ["city"]
    search_fields = ["name", "address", "city", "manager__username"]
    inlines = [UnitInline]


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = [
        "label",
        "property",
        "bedrooms",
        "area_m2",
        "monthly_rent",
        "currency",
        "active",
    ]
    list_filter = ["active", "bedrooms", "property__city"]
    search_fields = ["label", "property__name"]
    list_select_related = ["property"]


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    list_display = ["id", "applicant", "unit", "wished_start", "wished_end", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["applicant__username", "unit__label"]
    list_select_related = ["applicant", "unit__property"]
    # The status moves only through the services (submit, approve…), which check who may.
    readonly_fields = ["status", "created_at", "decided_at"]
    # Once submitted, an application is what the manager decides on: it no longer changes.
    fixed_unless_draft = ["applicant", "unit", "wished_start", "wished_end", "document_ids"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status != Application.Status.DRAFT:
            return [*self.readonly_fields, *self.fixed_unless_draft]
        return self.readonly_fields


class RentChargeInline(admin.TabularInline):
    model = RentCharge
    extra = 0
    readonly_fields = ["period_start", "period_end", "due_date", "amount", "currency"]
    can_delete = False


@admin.register(Lease)
class LeaseAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "unit",
        "tenant",
        "start_date",
        "end_date",
        "monthly_rent",
        "currency",
        "status",
        "overlaps",
    ]
    list_filter = ["status"]
    search_fields = ["tenant__username", "unit__label", "unit__property__name"]
    readonly_fields = [
        "status",
        "signed_at",
        "activated_at",
        "terminated_at",
        "created_at",
        "renewal_of",
        "application",
    ]
    # Past the draft, the lease holds its unit and has charges made from these: they change
    # only through the services (terminate, renew), never by editing the row.
    fixed_unless_draft = [
        "unit",
        "tenant",
        "start_date",
        "end_date",
        "monthly_rent",
        "deposit",
        "currency",
        "due_day",
    ]
    inlines = [RentChargeInline]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status != Lease.Status.DRAFT:
            return [*self.readonly_fields, *self.fixed_unless_draft]
        return self.readonly_fields

    def get_queryset(self, request):
        return leases_with_overlaps()

    @admin.display(description="overlapping holding leases", ordering="overlaps")
    def overlaps(self, lease: Lease) -> int:
        return lease.overlaps


@admin.register(RentCharge)
class RentChargeAdmin(admin.ModelAdmin):
    list_display = ["lease", "period_start", "period_end", "due_date", "amount", "currency"]
    list_filter = ["currency"]
    search_fields = ["lease__tenant__username", "lease__unit__label"]
    list_select_related = ["lease__unit__property"]
    date_hierarchy = "due_date"
