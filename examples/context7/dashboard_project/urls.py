from django.contrib.auth import views as auth_views
from django.urls import include, path

from chat import views as chat_views

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("signup/", chat_views.signup, name="signup"),
    path("", include("chat.urls")),
]
