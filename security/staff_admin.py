"""The staff admin site (STAFF-1): django-otp's OTP admin site, in Japanese, where a staff
member with one registered device (the usual case) just types the code — no device list."""

from __future__ import annotations

from django_otp import devices_for_user
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite


class StaffAuthenticationForm(OTPAdminAuthenticationForm):
    otp_error_messages = {
        **OTPAdminAuthenticationForm.otp_error_messages,
        "token_required": "ワンタイムパスワードを入力してください。",
        "invalid_token": "ワンタイムパスワードが正しくありません。認証アプリの表示をご確認ください。",
        "device_required": "ワンタイムパスワードの端末を選択してください。",
        "verification_not_allowed": "ワンタイムパスワードの確認は現在できません。しばらくしてからお試しください。",
    }

    def _chosen_device(self, user):
        device = super()._chosen_device(user)
        if device is None:
            devices = list(devices_for_user(user, confirmed=True))
            if len(devices) == 1:
                device = devices[0]
        return device


class StaffAdminSite(OTPAdminSite):
    login_form = StaffAuthenticationForm
    login_template = "admin/staff_login.html"
