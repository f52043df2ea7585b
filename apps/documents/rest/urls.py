from django.urls import path

from apps.documents.rest import views

app_name = "documents"

urlpatterns = [
    path("", views.DocumentCollectionView.as_view(), name="collection"),
    path("counts/", views.ProcessingCountsView.as_view(), name="counts"),
    path("grants/", views.DocumentGrantsView.as_view(), name="grants"),
    path("grants/revoke/", views.DocumentGrantsRevokeView.as_view(), name="grants-revoke"),
    path("<int:pk>/", views.DocumentView.as_view(), name="detail"),
    path("<int:pk>/download/", views.DocumentDownloadView.as_view(), name="download"),
    path("<int:pk>/text/", views.DocumentTextView.as_view(), name="text"),
    path("<int:pk>/thumbnail/", views.DocumentThumbnailView.as_view(), name="thumbnail"),
    path("<int:pk>/reprocess/", views.DocumentReprocessView.as_view(), name="reprocess"),
]
